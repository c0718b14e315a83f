{{ config(materialized='view') }}

{#- Places each lab row in study time (endpoints.md §1). Rows of subjects without a Day 1 by
    the cutoff keep a null study day and month. -#}

with

lab_results as (

    select * from {{ ref('int_lab_results_ranged') }}

),

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}

),

timed as (

    select
        lab_results.*,
        subjects_dosed.day1_date,
        {{ study_day('lab_results.sample_date', 'subjects_dosed.day1_date') }} as study_day

    from lab_results
    left join subjects_dosed
        on lab_results.site_id = subjects_dosed.site_id
        and lab_results.subject_id = subjects_dosed.subject_id
        and subjects_dosed.is_treated

),

final as (

    select
        timed.*,
        {{ treatment_month('timed.study_day') }} as treatment_month,
        timed.sample_date > {{ cutoff_date() }} as is_after_cutoff,
        coalesce(timed.study_day >= 2 and timed.sample_date <= {{ cutoff_date() }}, false) as is_post_baseline

    from timed

)

select * from final
