{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- One response assessment per subject and sample date: several PLT samples on one day count
    as the best of them (a day is the unit of the loss rule, "more than 1 day apart"). Marks
    the days where response is lost (endpoints.md §5): the first of two consecutive
    assessments, more than loss_min_gap_days apart, both NR. Incremental by site (macro
    sites_to_derive), each subject's days from its own samples. -#}

{%- set site_list = sites_to_derive(this) %}

with

platelet_samples as (

    select * from {{ ref('int_platelet_samples_classified') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

days as (

    select
        site_id,
        subject_id,
        sample_date,
        min(study_day) as study_day,
        min(treatment_month) as treatment_month,
        max(response_rank) as response_rank,
        count(*) as n_samples

    from platelet_samples
    where response_rank is not null
    group by site_id, subject_id, sample_date

),

sequenced as (

    select
        days.*,
        lead(days.sample_date) over (
            partition by days.site_id, days.subject_id order by days.sample_date
        ) as next_sample_date,
        lead(days.response_rank) over (
            partition by days.site_id, days.subject_id order by days.sample_date
        ) as next_response_rank

    from days

),

final as (

    select
        sequenced.site_id,
        sequenced.subject_id,
        sequenced.sample_date,
        sequenced.study_day,
        sequenced.treatment_month,
        {{ response_category('sequenced.response_rank') }} as response,
        sequenced.response_rank,
        sequenced.n_samples,
        sequenced.next_sample_date,
        coalesce(
            sequenced.response_rank = 1
            and sequenced.next_response_rank = 1
            and {{ dbt.datediff('sequenced.sample_date', 'sequenced.next_sample_date', 'day') }} > {{ var('loss_min_gap_days') }},
            false
        ) as is_loss_start,
        site_keys.build_key

    from sequenced
    inner join site_keys
        on sequenced.site_id = site_keys.site_id

)

select * from final
