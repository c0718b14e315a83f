{#- Current status per subject: the latest status_date up to the cutoff (site-exports.md §3);
    on the same date the later row of the file wins. A repeated withdrawal row therefore
    counts once. -#}

with

disposition_events as (

    select * from {{ ref('stg_site_exports__disposition_events') }}

),

ranked as (

    select
        disposition_events.*,
        row_number() over (
            partition by disposition_events.site_id, disposition_events.subject_id
            order by disposition_events.status_date desc, disposition_events.source_row desc
        ) as recency_rank,
        count(*) over (
            partition by disposition_events.site_id, disposition_events.subject_id
        ) as n_status_rows

    from disposition_events
    where disposition_events.status_date <= {{ cutoff_date() }}

),

final as (

    select
        site_id,
        subject_id,
        status as current_status,
        status_date as current_status_date,
        case when status = 'withdrawn' then reason end as withdrawal_reason,
        n_status_rows,
        source_file,
        source_row

    from ranked
    where recency_rank = 1

)

select * from final
