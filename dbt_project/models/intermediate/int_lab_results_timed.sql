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

    {{ placed_in_study_time('lab_results', 'sample_date') }}

),

final as (

    select
        timed.*,
        coalesce(timed.study_day >= 2 and timed.sample_date <= {{ cutoff_date() }}, false) as is_post_baseline

    from timed

)

select * from final
