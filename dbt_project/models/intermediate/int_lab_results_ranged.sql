{{ config(materialized='view') }}

{#- Reference range per lab row (endpoints.md §6 item 2): the site laboratory's limits win,
    each missing limit takes the study default of reference.lab_tests. -#}

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
        end as ref_range_source

    from lab_results
    left join lab_tests
        on lab_results.test_code = lab_tests.test_code

),

final as (

    select
        ranged.*,
        case
            when ranged.value < ranged.ref_low then 'L'
            when ranged.value > ranged.ref_high then 'H'
            when ranged.value is not null and ranged.ref_low is not null and ranged.ref_high is not null then 'N'
        end as range_flag

    from ranged

)

select * from final
