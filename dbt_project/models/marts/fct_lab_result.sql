with

lab_results as (

    select * from {{ ref('int_lab_results_graded') }}

),

final as (

    select
        ---------- ids
        site_id,
        subject_id,
        test_code,
        original_test_code,

        ---------- time
        sample_date,
        study_day,
        treatment_month,
        is_post_baseline,
        is_after_cutoff,

        ---------- result
        value,
        value_qualifier,
        unit,
        original_value,
        original_unit,
        conversion_factor,

        ---------- reference range and grades
        ref_low,
        ref_high,
        ref_range_source,
        range_flag,
        baseline_value,
        is_baseline_high,
        ctcae_grade,

        ---------- provenance
        source_file,
        source_sha256,
        source_row,
        export_date

    from lab_results

)

select * from final
