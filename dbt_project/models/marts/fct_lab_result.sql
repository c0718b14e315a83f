{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- Incremental by site: a load deletes the rows of the sites whose build_key changed (or
    that have no rows any more) and derives only those sites' rows again; every other
    site's rows stay as they are (int_sites_keyed says why that is exact). A first build,
    or --full-refresh, derives every row.
    The sites to derive are written into the query as constants: only a constant filter on
    site_id reaches the lab rows' scan through the views (measured: a join or a subquery on
    the keys read every site's rows, and one site cost 70% of all of them). -#}

{%- set site_list = sites_to_derive(this) %}

with

lab_results as (

    select * from {{ ref('int_lab_results_graded') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

final as (

    select
        ---------- ids
        lab_results.site_id,
        lab_results.subject_id,
        lab_results.test_code,
        lab_results.original_test_code,

        ---------- time
        lab_results.sample_date,
        lab_results.study_day,
        lab_results.treatment_month,
        lab_results.is_post_baseline,
        lab_results.is_after_cutoff,

        ---------- result
        lab_results.value,
        lab_results.value_qualifier,
        lab_results.unit,
        lab_results.original_value,
        lab_results.original_unit,
        lab_results.conversion_factor,

        ---------- reference range and grades
        lab_results.ref_low,
        lab_results.ref_high,
        lab_results.ref_range_source,
        lab_results.range_flag,
        lab_results.baseline_value,
        lab_results.is_baseline_high,
        lab_results.ctcae_grade,
        lab_results.ctcae_grade_min,
        lab_results.ctcae_grade_max,

        ---------- provenance
        lab_results.source_file,
        lab_results.source_sha256,
        lab_results.source_row,
        lab_results.export_date,
        site_keys.build_key

    from lab_results
    inner join site_keys
        on lab_results.site_id = site_keys.site_id

)

select * from final
