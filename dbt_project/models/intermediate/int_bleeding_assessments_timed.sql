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

    {{ placed_in_study_time('bleeding_assessments', 'assessment_date') }}

),

final as (

    select
        timed.*,
        timed.who_grade >= 1 as is_bleeding

    from timed

)

select * from final
