{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- Baseline value per subject and test (endpoints.md §3, used for PLT response and the
    CTCAE baseline rules): the last value in month 0 (study days -30 .. 1). Several samples on
    the last day: the later row of the file wins. Incremental by site (macro sites_to_derive):
    a subject's baseline is chosen among its own site's rows. -#}

{%- set site_list = sites_to_derive(this) %}

with

lab_results as (

    select * from {{ ref('int_lab_results_timed') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

ranked as (

    select
        lab_results.*,
        row_number() over (
            partition by lab_results.site_id, lab_results.subject_id, lab_results.test_code
            order by lab_results.sample_date desc, lab_results.source_row desc, lab_results.source_file desc
        ) as recency_rank

    from lab_results
    where lab_results.treatment_month = 0
      and not lab_results.is_after_cutoff

),

final as (

    select
        ranked.site_id,
        ranked.subject_id,
        ranked.test_code,
        ranked.sample_date as baseline_date,
        ranked.study_day as baseline_study_day,
        ranked.value as baseline_value,
        ranked.value_qualifier as baseline_value_qualifier,
        ranked.ref_high as baseline_ref_high,
        ranked.range_flag as baseline_range_flag,
        ranked.source_file,
        ranked.source_row,
        site_keys.build_key

    from ranked
    inner join site_keys
        on ranked.site_id = site_keys.site_id
    where ranked.recency_rank = 1

)

select * from final
