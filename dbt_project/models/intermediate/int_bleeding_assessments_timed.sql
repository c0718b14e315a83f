{{ config(materialized='view') }}

{#- Places each WHO bleeding assessment in study time (endpoints.md §1, §2). -#}

with

bleeding_assessments as (

    select * from {{ ref('stg_site_exports__bleeding_assessments') }}

),

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}

),

timed as (

    select
        bleeding_assessments.*,
        subjects_dosed.day1_date,
        {{ study_day('bleeding_assessments.assessment_date', 'subjects_dosed.day1_date') }} as study_day

    from bleeding_assessments
    left join subjects_dosed
        on bleeding_assessments.site_id = subjects_dosed.site_id
        and bleeding_assessments.subject_id = subjects_dosed.subject_id
        and subjects_dosed.is_treated

),

final as (

    select
        timed.*,
        {{ treatment_month('timed.study_day') }} as treatment_month,
        timed.who_grade >= 1 as is_bleeding,
        timed.assessment_date > {{ cutoff_date() }} as is_after_cutoff

    from timed

)

select * from final
