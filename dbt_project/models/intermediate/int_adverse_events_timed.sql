{{ config(materialized='view') }}

{#- Places each adverse event in study time by its onset date. Treatment-emergent = onset on
    or after Day 1 and by the cutoff; the AE endpoints count those. -#}

with

adverse_events as (

    select * from {{ ref('stg_site_exports__adverse_events') }}

),

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}

),

timed as (

    select
        adverse_events.*,
        subjects_dosed.day1_date,
        {{ study_day('adverse_events.onset_date', 'subjects_dosed.day1_date') }} as onset_study_day

    from adverse_events
    left join subjects_dosed
        on adverse_events.site_id = subjects_dosed.site_id
        and adverse_events.subject_id = subjects_dosed.subject_id
        and subjects_dosed.is_treated

),

final as (

    select
        timed.*,
        {{ treatment_month('timed.onset_study_day') }} as treatment_month,
        timed.onset_date > {{ cutoff_date() }} as is_after_cutoff,
        coalesce(timed.onset_study_day >= 1 and timed.onset_date <= {{ cutoff_date() }}, false) as is_treatment_emergent

    from timed

)

select * from final
