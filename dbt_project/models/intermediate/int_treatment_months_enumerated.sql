{#- Treatment months 0 .. the month of the cutoff for the earliest Day 1 (no record by the
    cutoff can fall later) or report_months, whichever is later, with their study-day windows
    (endpoints.md §1). treatment_month() maps a day to its month; this is the inverse, and the
    singular test assert_treatment_month_windows_invert_treatment_month pins the two together. -#}

with

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}
    where is_treated

),

bounds as (

    select
        greatest(
            coalesce(max({{ treatment_month(study_day(cutoff_date(), 'subjects_dosed.day1_date')) }}), 0),
            {{ var('report_months') }}
        ) as last_treatment_month

    from subjects_dosed

),

months as (

    {{ integer_series('treatment_month', 'bounds', 'last_treatment_month') }}

),

final as (

    select
        months.treatment_month,
        case
            when months.treatment_month = 0 then {{ var('baseline_first_day') }}
            when months.treatment_month = 1 then 2
            else {{ var('days_per_month') }} * (months.treatment_month - 1) + 1
        end as first_study_day,
        case
            when months.treatment_month = 0 then 1
            else {{ var('days_per_month') }} * months.treatment_month
        end as last_study_day,
        case
            when months.treatment_month = 0 then 'baseline'
            else 'month_' || cast(months.treatment_month as {{ dbt.type_string() }})
        end as timepoint

    from months

)

select * from final
