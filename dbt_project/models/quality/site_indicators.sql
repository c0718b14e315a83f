{#- Key risk indicators per site and load (issue #18): one row per load, site and indicator,
    with the threshold of seed site_indicator_thresholds it was judged by. Incremental and never
    rebuilt whole (full_refresh=false): each load adds its own rows, so the history of every
    site's indicators stays across loads and upgrades (the dashboard's trends). A load's rows
    are computed from what that load sees: its data cutoff, the current snapshots, the site
    queries after this load's update, the marts it builds. Under contract: a contracted
    incremental model needs an on_schema_change other than ignore; `fail` would stop every
    load after an upgrade that adds a column (the table is never rebuilt), so a new column is
    appended and the earlier loads' rows keep null there. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['load_id', 'site_id', 'indicator'],
    full_refresh=false,
    on_schema_change='append_new_columns'
) }}

{%- set domains = site_export_domains() %}

with

this_load as (

    select
        load_id,
        started_at,
        {{ cutoff_date() }} as cutoff_date

    from {{ source('quality', 'load_log') }}
    order by started_at desc
    limit 1

),

thresholds as (

    select * from {{ ref('site_indicator_thresholds') }}

),

late_after_days as (

    select threshold from thresholds where indicator = 'days_since_last_export'

),

manifest as (

    select * from {{ source('quality', 'file_manifest') }}
    where site_id is not null

),

sites as (

    select distinct site_id from manifest

),

---------- data quality of the current snapshots

current_rows as (

    select
        site_id,
        sum(rows_read) as rows_read,
        sum(rows_quarantined) as rows_quarantined

    from manifest
    where is_current
    group by site_id

),

subjects as (

    select
        site_id,
        count(distinct subject_id) as n_subjects

    from {{ ref('stg_site_exports__subjects') }}
    group by site_id

),

unresolved_queries as (

    select
        site_query.site_id,
        count(*) as n_queries,
        max({{ dbt.datediff('site_query.opened_at', 'this_load.started_at', 'day') }}) as oldest_days

    from {{ source('quality', 'site_query') }} as site_query
    cross join this_load
    where site_query.status in ('open', 'answered')
    group by site_query.site_id

),

---------- exports: the newest of the site, and of each domain. Any file with a valid name that
---------- was not refused counts: an unchanged cumulative export under a newer date (a duplicate)
---------- says the data hold up to then, as the default cutoff reads it.

newest_exports as (

    select
        site_id,
        max(export_date) as newest_export_date

    from manifest
    where export_date is not null and status <> 'refused'
    group by site_id

),

domains as (

    {%- for domain in domains %}
    select '{{ domain }}' as domain{% if not loop.last %} union all{% endif %}
    {%- endfor %}

),

domain_exports as (

    select
        sites.site_id,
        domains.domain,
        max(manifest.export_date) as export_date

    from sites
    cross join domains
    left join manifest
        on manifest.site_id = sites.site_id
        and manifest.domain = domains.domain
        and manifest.status <> 'refused'
    group by sites.site_id, domains.domain

),

late_domains as (

    select
        domain_exports.site_id,
        sum(case
            when domain_exports.export_date is null then 1
            when {{ dbt.datediff('domain_exports.export_date', 'this_load.cutoff_date', 'day') }}
                > (select threshold from late_after_days) then 1
            else 0
        end) as n_late

    from domain_exports
    cross join this_load
    group by domain_exports.site_id

),

---------- protocol signals, over treatment months 1 onward

patient_months as (

    select
        site_id,
        count(*) as n_months,
        sum(case when plt_n = 0 then 1 else 0 end) as n_without_platelets

    from {{ ref('patient_month') }}
    where treatment_month >= 1
    group by site_id

),

signals as (

    select
        site_id,
        count(*) as n_signals

    from {{ ref('safety_signal') }}
    group by site_id

),

---------- every site's figures side by side, then one row per site and indicator:
---------- value = numerator / denominator (or, without a denominator, a count of days)

site_figures as (

    select
        sites.site_id,
        this_load.cutoff_date,
        current_rows.rows_read,
        current_rows.rows_quarantined,
        subjects.n_subjects,
        unresolved_queries.n_queries,
        unresolved_queries.oldest_days,
        newest_exports.newest_export_date,
        late_domains.n_late,
        patient_months.n_months,
        patient_months.n_without_platelets,
        signals.n_signals

    from sites
    cross join this_load
    left join current_rows on current_rows.site_id = sites.site_id
    left join subjects on subjects.site_id = sites.site_id
    left join unresolved_queries on unresolved_queries.site_id = sites.site_id
    left join newest_exports on newest_exports.site_id = sites.site_id
    left join late_domains on late_domains.site_id = sites.site_id
    left join patient_months on patient_months.site_id = sites.site_id
    left join signals on signals.site_id = sites.site_id

),

{%- set indicators = [
    ('quarantine_rate', 'coalesce(rows_quarantined, 0)', 'rows_read'),
    ('open_queries_per_subject', 'coalesce(n_queries, 0)', 'n_subjects'),
    ('oldest_open_query_days', 'coalesce(oldest_days, 0)', none),
    ('days_since_last_export', dbt.datediff('newest_export_date', 'cutoff_date', 'day'), none),
    ('exports_late_or_missing', 'n_late', none),
    ('missed_platelet_months', 'coalesce(n_without_platelets, 0)', 'n_months'),
    ('safety_signals_per_patient_month', 'coalesce(n_signals, 0)', 'n_months'),
] %}

measures as (
    {% for indicator, numerator, denominator in indicators %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select
        site_id,
        '{{ indicator }}' as indicator,
        cast({{ numerator }} as {{ type_double() }}) as numerator,
        cast({{ denominator if denominator else 'null' }} as {{ type_double() }}) as denominator
    from site_figures
    {%- endfor %}

),

valued as (

    select
        site_id,
        indicator,
        numerator,
        denominator,
        case
            when denominator is null then numerator
            when denominator > 0 then numerator / denominator
        end as value

    from measures

),

final as (

    select
        this_load.load_id,
        this_load.cutoff_date,
        valued.site_id,
        valued.indicator,
        valued.value,
        valued.numerator,
        valued.denominator,
        thresholds.threshold,
        thresholds.direction,
        coalesce(case
            when thresholds.direction = 'above' then valued.value > thresholds.threshold
            when thresholds.direction = 'below' then valued.value < thresholds.threshold
        end, false) as is_over_threshold

    from valued
    cross join this_load
    inner join thresholds on thresholds.indicator = valued.indicator

)

select * from final
