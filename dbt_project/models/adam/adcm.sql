{#- ADCM (OCCDS): one row per concomitant medication period of the current snapshots, with
    the flags the conmed endpoints count (endpoints.md §5): baseline use of an ITP class
    (int_conmed_periods_timed) and, for a baseline drug's period ending in study days
    61 .. 180, what followed (int_conmed_period_ends_classified). adam.md lists no ADCM;
    the reference figures of endpoints.md §9 need it (docs/decisions.md, #15). Drug names
    are as the site wrote them: Chinese names stay here and keep the XPT file back. -#}

with

conmed_periods as (

    select * from {{ ref('int_conmed_periods_timed') }}

),

period_ends as (

    select * from {{ ref('int_conmed_period_ends_classified') }}

),

final as (

    select
        {{ adam_identifiers('conmed_periods') }},
        {{ adam_sequence('conmed_periods', 'conmed_periods.start_date') }} as CMSEQ,
        conmed_periods.drug_name as CMTRT,
        upper(conmed_periods.drug_class) as CMCLAS,
        conmed_periods.daily_dose as CMDOSE,
        conmed_periods.dose_unit as CMDOSU,
        conmed_periods.start_date as ASTDT,
        conmed_periods.end_date as AENDT,
        conmed_periods.start_study_day as ASTDY,
        conmed_periods.end_study_day as AENDY,
        case when conmed_periods.is_baseline_use then 'Y' end as BLITPFL,
        upper(conmed_periods.baseline_drug_class) as CMBLCLAS,
        upper(replace(period_ends.change_type, '_', ' ')) as CMCHGTYP,
        case when period_ends.is_reduced_or_stopped then 'Y' end as CMREDFL,
        conmed_periods.source_file as SRCFILE,
        conmed_periods.source_row as SRCROW

    from conmed_periods
    left join period_ends
        on conmed_periods.source_sha256 = period_ends.source_sha256
        and conmed_periods.source_row = period_ends.source_row

)

select * from final
