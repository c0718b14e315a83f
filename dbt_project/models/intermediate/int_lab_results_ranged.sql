{{ config(materialized='view') }}

{#- Reference range per lab row (endpoints.md §6 item 2): the site laboratory's limits win,
    each missing limit takes the study default of reference.lab_tests.
    A value with a qualifier (§6 v1.1) is a range of values, not a number: `<x` allows every
    plausible value below x (from the test's plausibility low, a measurement cannot be lower),
    `>x` every value above x. value_low/value_high bound the values a row allows (null = no
    bound); `<` leaves value_high open (x itself excluded), `>` leaves value_low open. The flag
    is given only when every allowed value gets the same one; otherwise it is null (not
    determinable), never the flag of x. Without a qualifier both bounds are the value. -#}

with

lab_results as (

    select * from {{ ref('stg_site_exports__lab_results') }}

),

lab_tests as (

    select * from {{ ref('lab_tests') }}

),

ranged as (

    select
        lab_results.*,
        coalesce(lab_results.site_ref_low, lab_tests.default_ref_low) as ref_low,
        coalesce(lab_results.site_ref_high, lab_tests.default_ref_high) as ref_high,
        case
            when lab_results.site_ref_low is not null and lab_results.site_ref_high is not null then 'site'
            when lab_results.site_ref_low is null and lab_results.site_ref_high is null then 'study_default'
            else 'site_and_study_default'
        end as ref_range_source,
        case lab_results.value_qualifier
            when '<' then lab_tests.plausible_low
            when '>' then lab_results.value
            else lab_results.value
        end as value_low,
        case lab_results.value_qualifier
            when '<' then lab_results.value
            when '>' then null
            else lab_results.value
        end as value_high

    from lab_results
    left join lab_tests
        on lab_results.test_code = lab_tests.test_code

),

final as (

    select
        ranged.*,
        -- L: every allowed value below ref_low; H: every one above ref_high; N: all within.
        case
            when ranged.value_high < ranged.ref_low
                or (ranged.value_high = ranged.ref_low and ranged.value_qualifier = '<') then 'L'
            when ranged.value_low > ranged.ref_high
                or (ranged.value_low = ranged.ref_high and ranged.value_qualifier = '>') then 'H'
            when ranged.value_low >= ranged.ref_low and ranged.value_high <= ranged.ref_high then 'N'
        end as range_flag

    from ranged

)

select * from final
