{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- The subject spine: every subject seen in any current snapshot. Since site-exports.md v1.2
    staging leaves out the rows of subjects missing from their site's current subjects
    snapshot (orphans: kept in raw, reported as site queries), so every subject here is in
    the subjects export; `is_in_subjects_export` and its warn test guard that.
    Incremental by site (macro sites_to_derive): a site's subjects are its own current
    snapshots' rows, and the cutoff plays no part; a nightly delta no longer unions the
    registry's 20 million lab rows to find its subjects. -#}
{%- set site_list = sites_to_derive(this) %}

with

subjects as (

    select * from {{ ref('stg_site_exports__subjects') }}
    where {{ in_sites(site_list) }}

),

dosing_periods as (

    select * from {{ ref('stg_site_exports__dosing_periods') }}
    where {{ in_sites(site_list) }}

),

lab_results as (

    select * from {{ ref('stg_site_exports__lab_results') }}
    where {{ in_sites(site_list) }}

),

bleeding_assessments as (

    select * from {{ ref('stg_site_exports__bleeding_assessments') }}
    where {{ in_sites(site_list) }}

),

conmed_periods as (

    select * from {{ ref('stg_site_exports__conmed_periods') }}
    where {{ in_sites(site_list) }}

),

adverse_events as (

    select * from {{ ref('stg_site_exports__adverse_events') }}
    where {{ in_sites(site_list) }}

),

disposition_events as (

    select * from {{ ref('stg_site_exports__disposition_events') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

subject_keys as (

    select site_id, subject_id from subjects
    union
    select site_id, subject_id from dosing_periods
    union
    select site_id, subject_id from lab_results
    union
    select site_id, subject_id from bleeding_assessments
    union
    select site_id, subject_id from conmed_periods
    union
    select site_id, subject_id from adverse_events
    union
    select site_id, subject_id from disposition_events

),

-- A subject listed twice in one export (a warn test on staging reports it): the later row
-- of the file wins.
subjects_ranked as (

    select
        subjects.*,
        row_number() over (
            partition by subjects.site_id, subjects.subject_id
            order by subjects.source_row desc
        ) as recency_rank

    from subjects

),

final as (

    select
        subject_keys.site_id,
        subject_keys.subject_id,
        subjects_ranked.sex,
        subjects_ranked.birth_year,
        subjects_ranked.diagnosis_date,
        subjects_ranked.enrollment_date,
        subjects_ranked.subject_id is not null as is_in_subjects_export,
        subjects_ranked.source_file,
        subjects_ranked.source_row,
        site_keys.build_key

    from subject_keys
    inner join site_keys
        on subject_keys.site_id = site_keys.site_id
    left join subjects_ranked
        on subject_keys.site_id = subjects_ranked.site_id
        and subject_keys.subject_id = subjects_ranked.subject_id
        and subjects_ranked.recency_rank = 1

)

select * from final
