{#- One row per site: the key of everything the site's rows of the models incremental by site
    are derived from (the list heads macros/incremental_sites.sql), so that a load derives
    again the rows of the sites whose key changed and keeps the others (macro sites_to_derive;
    docs/decisions.md "Registry scale", "Subject-level models incremental by site").

    Those models' rows of a site depend only on that site's current snapshots (quality checks
    across domains can move rows of any domain of the site to quarantine, so every domain's
    current file counts), on the study id, and on the cutoff, which they use only in
    comparisons with the site's own dates (a record after the cutoff, a dose started by it).
    A cutoff at or after the last of those dates compares the same way as any other such
    cutoff, so the key holds the cutoff only up to that date: a nightly snapshot of one site
    moves the cutoff forward without touching the others' keys. Every date column of every
    domain counts, a superset of the compared ones. Row counts per domain are in the key too:
    a row moved to quarantine leaves its file's sha256 unchanged. Counts and dates are taken
    over every row of the site's current files, orphans included (a superset of what staging
    reads): which rows are orphans follows from the current subjects file, whose sha256 is in
    the key, and reading the raw rows skips staging's orphan join (0.5 s of this model's 0.8 s
    at 100,000 subjects). Derivation code, seeds and
    vars are not in it: a load whose dbt project changed rebuilds every row (--full-refresh,
    orchestration). Models that use the cutoff in arithmetic (exposure up to the cutoff:
    int_subjects_dosed, adsl, adtte, the endpoint counts) are rebuilt whole on every load.

    is_rebuilt: the site's key is not among this model's keys of the previous build (the
    published warehouse the candidate was copied from), so this build derives its rows again;
    every site on a first build or --full-refresh. The error-severity tests of the tables
    incremental by site read only such sites' rows (`where` placeholder __rebuilt_sites__,
    macro get_where_subquery), or what they can collide with (tests/generic
    unique_combination, rebuilt_sites_of). -#}
{%- set previous = adapter.get_relation(database=this.database, schema=this.schema, identifier=this.identifier)
    if execute else none %}
{%- set whole_build = previous is none or flags.FULL_REFRESH %}

{#- The export domains (source site_exports) and their date columns. -#}
{%- set domains = {
    'labs': ['sample_date'],
    'dosing': ['start_date', 'end_date'],
    'bleeding': ['assessment_date'],
    'adverse_events': ['onset_date', 'resolution_date'],
    'conmeds': ['start_date', 'end_date'],
    'disposition': ['status_date'],
    'subjects': ['diagnosis_date', 'enrollment_date'],
} %}

with

file_manifest as (

    select * from {{ source('quality', 'file_manifest') }}

),

{% for domain in domains %}
{{ domain }} as (

    {{ current_rows(domain, with_orphans=true) }}

),

{% endfor -%}

current_files as (

    select
        site_id,
        {{ dbt.listagg("domain || ':' || sha256", "','", 'order by domain, sha256') }} as current_files

    from (select distinct site_id, domain, sha256 from file_manifest where is_current) as current_site_files
    group by site_id

),

-- One member per domain and date column; the row count once per domain (with its first column).
site_dates as (

    {% for domain, date_columns in domains.items() -%}
    {%- set last_domain = loop.last -%}
    {%- for column in date_columns %}
    select
        site_id,
        '{{ domain }}' as domain,
        {{ 'count(*)' if loop.first else 'cast(null as ' ~ dbt.type_bigint() ~ ')' }} as n_rows,
        max({{ column }}) as last_date
    from {{ domain }}
    group by site_id
    {{ 'union all' if not (last_domain and loop.last) }}
    {%- endfor %}
    {% endfor %}

),

sites as (

    select
        site_id,
        {{ dbt.listagg("domain || ':' || cast(n_rows as " ~ dbt.type_string() ~ ")", "','", 'order by domain') }} as row_counts,
        max(last_date) as last_compared_date

    from site_dates
    group by site_id

),

keyed as (

    select
        sites.site_id,
        current_files.current_files,
        sites.row_counts,
        sites.last_compared_date,
        least({{ cutoff_date() }}, sites.last_compared_date) as effective_cutoff,
        {{ study_id() }} as study_id

    from sites
    left join current_files
        on sites.site_id = current_files.site_id

),

hashed as (

    select
        keyed.*,
        md5(concat_ws('|',
            keyed.site_id,
            coalesce(keyed.current_files, ''),
            keyed.row_counts,
            coalesce(cast(keyed.effective_cutoff as {{ dbt.type_string() }}), ''),
            coalesce(keyed.study_id, '')
        )) as build_key

    from keyed

),

previous_keys as (

    {% if whole_build -%}
    select cast(null as {{ dbt.type_string() }}) as build_key where false
    {%- else -%}
    select build_key from {{ this }}
    {%- endif %}

),

final as (

    select
        hashed.*,
        hashed.build_key not in (select build_key from previous_keys) as is_rebuilt

    from hashed

)

select * from final
