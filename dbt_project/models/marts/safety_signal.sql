{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- Safety signals for monitors (endpoints.md §6 item 4), one row per signal, subject and
    date; several findings of one signal on the same day keep the worst one and count the
    others in n_findings. Every record up to the cutoff counts, baseline included: monitors
    see the study day in `detail`. A lab value with a qualifier (`<x`, `>x`) signals only when
    every value it allows would (endpoints.md §6 v1.1): `>150` ALT does, `<150` does not.
    Incremental by site (macro sites_to_derive): a subject's signals are its own site's lab,
    concomitant drug and AE records, compared with the cutoff only (int_sites_keyed). -#}
{%- set site_list = sites_to_derive(this) %}

with

lab_results as (

    select * from {{ ref('fct_lab_result') }}
    where {{ in_sites(site_list) }}
      and not is_after_cutoff

),

conmed_periods as (

    select * from {{ ref('int_conmed_periods_timed') }}
    where {{ in_sites(site_list) }}
      and start_date <= {{ cutoff_date() }}

),

adverse_events as (

    select * from {{ ref('int_adverse_events_timed') }}
    where {{ in_sites(site_list) }}
      and not is_after_cutoff

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

---------- findings; severity orders findings of one signal and day (higher = worse)

transaminase_findings as (

    select
        site_id,
        subject_id,
        'transaminase_ge_100' as signal,
        sample_date as signal_date,
        value,
        value as severity,
        test_code || ' ' || coalesce(value_qualifier, '') || cast(value as {{ dbt.type_string() }}) || ' ' || unit
            || ' on study day ' || coalesce(cast(study_day as {{ dbt.type_string() }}), '?')
            || ' (signal: >= {{ var("transaminase_signal_ul") }} U/L, the drug label''s guide value for stopping iguratimod)' as detail,
        source_file,
        source_sha256,
        source_row

    from lab_results
    where test_code in ('ALT', 'AST')
      and value >= {{ var('transaminase_signal_ul') }}
      and coalesce(value_qualifier, '') <> '<'

),

{#- One rule for both low counts: below the CTCAE grade-3 limit (vars checked against the
    CTCAE seed by tests/dbt/test_vocabulary.py); `<x` signals when x is at or below it. -#}
{%- set low_count_signals = [
    ('NEUT', 'neutropenia_grade3plus', var('neut_signal_below')),
    ('WBC', 'leukopenia_grade3plus', var('wbc_signal_below')),
] %}

low_count_findings as (

    {% for test_code, signal, below in low_count_signals %}
    select
        site_id,
        subject_id,
        '{{ signal }}' as signal,
        sample_date as signal_date,
        value,
        -value as severity,
        '{{ test_code }} ' || coalesce(value_qualifier, '') || cast(value as {{ dbt.type_string() }}) || ' ' || unit
            || ' on study day ' || coalesce(cast(study_day as {{ dbt.type_string() }}), '?')
            || ' (signal: < {{ below }} x10^9/L, CTCAE grade >= 3)' as detail,
        source_file,
        source_sha256,
        source_row

    from lab_results
    where test_code = '{{ test_code }}'
      and (value < {{ below }} or (value_qualifier = '<' and value <= {{ below }}))
      and coalesce(value_qualifier, '') <> '>'
    {% if not loop.last %}
    union all
    {% endif %}
    {% endfor %}

),

warfarin_findings as (

    select
        site_id,
        subject_id,
        'warfarin_conmed' as signal,
        start_date as signal_date,
        daily_dose as value,
        coalesce(daily_dose, 0) as severity,
        'concomitant drug ''' || drug_name || ''' (' || drug_class || ') from ' || cast(start_date as {{ dbt.type_string() }})
            || coalesce(' to ' || cast(end_date as {{ dbt.type_string() }}), ', ongoing')
            || ': warfarin is contraindicated with iguratimod' as detail,
        source_file,
        source_sha256,
        source_row

    from conmed_periods
    where {% for pattern in var('warfarin_name_patterns') -%}
        lower(drug_name) like '%{{ pattern | lower }}%'{% if not loop.last %} or {% endif %}
    {%- endfor %}

),

adverse_event_findings as (

    select
        site_id,
        subject_id,
        'ae_grade3plus' as signal,
        onset_date as signal_date,
        cast(ctcae_grade as {{ type_double() }}) as value,
        cast(ctcae_grade as {{ type_double() }}) as severity,
        'adverse event ''' || ae_term || ''' CTCAE grade ' || cast(ctcae_grade as {{ dbt.type_string() }})
            || case when is_serious then ', serious' else '' end
            || case when is_related then ', related to iguratimod' else '' end
            || ', onset ' || cast(onset_date as {{ dbt.type_string() }}) as detail,
        source_file,
        source_sha256,
        source_row

    from adverse_events
    where ctcae_grade >= {{ var('ae_signal_min_grade') }}

),

findings as (

    select * from transaminase_findings
    union all
    select * from low_count_findings
    union all
    select * from warfarin_findings
    union all
    select * from adverse_event_findings

),

ranked as (

    select
        findings.*,
        row_number() over (
            partition by findings.site_id, findings.subject_id, findings.signal, findings.signal_date
            order by findings.severity desc, findings.source_file, findings.source_row
        ) as severity_rank,
        count(*) over (
            partition by findings.site_id, findings.subject_id, findings.signal, findings.signal_date
        ) as n_findings

    from findings

),

final as (

    select
        ranked.site_id,
        ranked.subject_id,
        ranked.signal,
        ranked.signal_date,
        ranked.value,
        case
            when ranked.n_findings > 1
                then ranked.detail || ' (+' || cast(ranked.n_findings - 1 as {{ dbt.type_string() }}) || ' more on the same day)'
            else ranked.detail
        end as detail,
        ranked.n_findings,
        ranked.source_file,
        ranked.source_sha256,
        ranked.source_row,
        site_keys.build_key

    from ranked
    inner join site_keys
        on ranked.site_id = site_keys.site_id
    where ranked.severity_rank = 1

)

select * from final
