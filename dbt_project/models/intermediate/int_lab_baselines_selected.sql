{#- Baseline value per subject and test (endpoints.md §3, used for PLT response and the
    CTCAE baseline rules): the last value in month 0 (study days -30 .. 1). Several samples on
    the last day: the later row of the file wins. -#}

with

lab_results as (

    select * from {{ ref('int_lab_results_timed') }}

),

ranked as (

    select
        lab_results.*,
        row_number() over (
            partition by lab_results.site_id, lab_results.subject_id, lab_results.test_code
            order by lab_results.sample_date desc, lab_results.source_row desc, lab_results.source_file desc
        ) as recency_rank

    from lab_results
    where lab_results.treatment_month = 0
      and not lab_results.is_after_cutoff

),

final as (

    select
        site_id,
        subject_id,
        test_code,
        sample_date as baseline_date,
        study_day as baseline_study_day,
        value as baseline_value,
        value_qualifier as baseline_value_qualifier,
        ref_high as baseline_ref_high,
        range_flag as baseline_range_flag,
        source_file,
        source_row

    from ranked
    where recency_rank = 1

)

select * from final
