{#- Ends of baseline-drug periods within study days conmed_reduction_first_day ..
    conmed_reduction_last_day (61 .. 180, endpoints.md §5), and what followed:
      replacement   = another period of the same drug (case-insensitive trimmed name) that
                      starts after this period's start and at most
                      conmed_replacement_max_gap_days after its end (by the cutoff); the
                      earliest such period;
      discontinued  = no replacement;
      reduced       = replacement at a lower daily_dose;
      not_reduced   = replacement at the same or a higher daily_dose;
      dose_unknown  = replacement, but a daily_dose is missing (not counted as reduced). -#}

with

conmed_periods as (

    select * from {{ ref('int_conmed_periods_timed') }}

),

ending_periods as (

    select *
    from conmed_periods
    where is_baseline_drug
      and end_study_day between {{ var('conmed_reduction_first_day') }} and {{ var('conmed_reduction_last_day') }}
      and end_date <= {{ cutoff_date() }}

),

replacement_candidates as (

    select
        ending_periods.source_sha256,
        ending_periods.source_row,
        replacements.start_date as replacement_start_date,
        replacements.daily_dose as replacement_daily_dose,
        replacements.source_row as replacement_source_row,
        row_number() over (
            partition by ending_periods.source_sha256, ending_periods.source_row
            order by replacements.start_date, replacements.source_row
        ) as candidate_rank

    from ending_periods
    inner join conmed_periods as replacements
        on ending_periods.site_id = replacements.site_id
        and ending_periods.subject_id = replacements.subject_id
        and ending_periods.drug_key = replacements.drug_key
        and replacements.start_date > ending_periods.start_date
        and replacements.start_date <= {{ add_days('ending_periods.end_date', var('conmed_replacement_max_gap_days')) }}
        and replacements.start_date <= {{ cutoff_date() }}

),

classified as (

    select
        ending_periods.site_id,
        ending_periods.subject_id,
        ending_periods.drug_name,
        ending_periods.drug_key,
        ending_periods.drug_class,
        ending_periods.baseline_drug_class,
        ending_periods.start_date,
        ending_periods.end_date,
        ending_periods.end_study_day,
        ending_periods.daily_dose,
        replacement_candidates.replacement_start_date,
        replacement_candidates.replacement_daily_dose,
        replacement_candidates.replacement_source_row,
        case
            when replacement_candidates.replacement_start_date is null then 'discontinued'
            when ending_periods.daily_dose is null
                or replacement_candidates.replacement_daily_dose is null then 'dose_unknown'
            when replacement_candidates.replacement_daily_dose < ending_periods.daily_dose then 'reduced'
            else 'not_reduced'
        end as change_type,
        ending_periods.source_file,
        ending_periods.source_sha256,
        ending_periods.source_row

    from ending_periods
    left join replacement_candidates
        on ending_periods.source_sha256 = replacement_candidates.source_sha256
        and ending_periods.source_row = replacement_candidates.source_row
        and replacement_candidates.candidate_rank = 1

),

final as (

    select
        classified.*,
        classified.change_type in ('discontinued', 'reduced') as is_reduced_or_stopped

    from classified

)

select * from final
