{#- Day 1 and exposure per dosed subject (endpoints.md §1). -#}

with

dosing_periods as (

    select * from {{ ref('stg_site_exports__dosing_periods') }}

),

first_doses as (

    select
        site_id,
        subject_id,
        min(start_date) as day1_date,
        count(*) as n_dosing_periods

    from dosing_periods
    group by site_id, subject_id

),

-- Periods that started by the cutoff; a later start does not exist yet at the cutoff.
started_periods as (

    select
        dosing_periods.*,
        row_number() over (
            partition by dosing_periods.site_id, dosing_periods.subject_id
            order by
                dosing_periods.start_date desc,
                case when dosing_periods.end_date is null then 0 else 1 end,
                dosing_periods.source_row desc
        ) as recency_rank

    from dosing_periods
    where dosing_periods.start_date <= {{ cutoff_date() }}

),

exposures as (

    select
        site_id,
        subject_id,
        max(end_date) as last_dose_end_date,
        -- ongoing = the latest-starting period has no end date (an older period without an
        -- end is a superseded row, not evidence of ongoing treatment)
        max(case when recency_rank = 1 and end_date is null then 1 else 0 end) = 1 as is_dosing_ongoing

    from started_periods
    group by site_id, subject_id

),

exposure_ends as (

    select
        first_doses.site_id,
        first_doses.subject_id,
        first_doses.day1_date,
        first_doses.n_dosing_periods,
        first_doses.day1_date <= {{ cutoff_date() }} as is_treated,
        exposures.last_dose_end_date,
        coalesce(exposures.is_dosing_ongoing, false) as is_dosing_ongoing,
        case
            when first_doses.day1_date > {{ cutoff_date() }} then null
            when exposures.is_dosing_ongoing then {{ cutoff_date() }}
            when exposures.last_dose_end_date > {{ cutoff_date() }} then {{ cutoff_date() }}
            else exposures.last_dose_end_date
        end as exposure_end_date

    from first_doses
    left join exposures
        on first_doses.site_id = exposures.site_id
        and first_doses.subject_id = exposures.subject_id

),

final as (

    select
        exposure_ends.*,
        {{ days_between('exposure_ends.day1_date', 'exposure_ends.exposure_end_date') }} + 1 as exposure_days

    from exposure_ends

)

select * from final
