{#- One row per site: the key of everything its fct_lab_result rows are derived from, so that
    a load re-derives the rows of the sites whose key changed and keeps the others
    (fct_lab_result is incremental; docs/decisions.md "Registry scale").

    A lab row's derived columns depend only on its own site's current snapshots (labs, dosing
    for Day 1; quality checks across domains can move rows of any domain of the site to
    quarantine, so every domain's current file counts) and on the cutoff, which enters only by
    comparison with the site's dates (sample dates, dosing starts). A cutoff at or after the
    last of those dates compares the same way as any other such cutoff, so the key holds the
    cutoff only up to that date: a nightly snapshot of one site moves the cutoff forward
    without touching the others' keys. Row counts are in the key too: a row moved to
    quarantine leaves its file's sha256 unchanged. Derivation code and seeds are not in it: a
    load whose dbt project changed rebuilds every row (--full-refresh, orchestration). -#}

with

file_manifest as (

    select * from {{ source('quality', 'file_manifest') }}

),

lab_results as (

    select * from {{ ref('stg_site_exports__lab_results') }}

),

dosing_periods as (

    select * from {{ ref('stg_site_exports__dosing_periods') }}

),

current_files as (

    select
        site_id,
        {{ dbt.listagg("domain || ':' || sha256", "','", 'order by domain, sha256') }} as current_files

    from (select distinct site_id, domain, sha256 from file_manifest where is_current) as current_site_files
    group by site_id

),

site_dates as (

    select site_id, 'labs' as domain, count(*) as n_rows, max(sample_date) as last_date
    from lab_results
    group by site_id

    union all

    select site_id, 'dosing' as domain, count(*) as n_rows, max(start_date) as last_date
    from dosing_periods
    group by site_id

),

sites as (

    select
        site_id,
        sum(case when domain = 'labs' then n_rows else 0 end) as n_lab_rows,
        sum(case when domain = 'dosing' then n_rows else 0 end) as n_dosing_rows,
        max(last_date) as last_compared_date

    from site_dates
    group by site_id

),

keyed as (

    select
        sites.site_id,
        current_files.current_files,
        sites.n_lab_rows,
        sites.n_dosing_rows,
        sites.last_compared_date,
        least({{ cutoff_date() }}, sites.last_compared_date) as effective_cutoff

    from sites
    left join current_files
        on sites.site_id = current_files.site_id

),

final as (

    select
        keyed.*,
        md5(concat_ws('|',
            keyed.site_id,
            coalesce(keyed.current_files, ''),
            cast(keyed.n_lab_rows as varchar),
            cast(keyed.n_dosing_rows as varchar),
            coalesce(cast(keyed.effective_cutoff as varchar), '')
        )) as build_key

    from keyed

)

select * from final
