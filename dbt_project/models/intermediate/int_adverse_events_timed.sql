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

    {{ placed_in_study_time('adverse_events', 'onset_date', study_day_name='onset_study_day') }}

),

final as (

    select
        timed.*,
        coalesce(timed.onset_study_day >= 1 and timed.onset_date <= {{ cutoff_date() }}, false) as is_treatment_emergent

    from timed

)

select * from final
