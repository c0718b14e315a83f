{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- ADLB's rows (adam.md §2, BDS; adam.adlb shows them without the build key): one row per
    lab result of marts.fct_lab_result. Baseline is the row int_lab_baselines_selected chose
    (endpoints.md §3); BASE is the mart's baseline_value; flags and grades are the mart's,
    empty where the mart's are.
    Incremental by site like fct_lab_result (a registry has tens of millions of lab rows; a
    nightly delta derives the changed sites' rows only), every value of a row depending on
    its own site's rows: a site is derived again when its build_key changed (the key holds
    STUDYID too: a new one derives every site). -#}

-- depends_on: {{ ref('int_sites_keyed') }}
{%- set site_list = sites_to_derive(this) %}

with

{#- ASEQ is numbered over a narrow projection and joined back by the lab table's row id
    (macro table_row_id): a window carrying all of ADLB's columns through its sort took
    41-44 s for 20 million rows at 100,000 subjects, this 25 s (docs/decisions.md, "ADLB's
    sequence number over a narrow projection"). The two CTEs read more than once are NOT
    MATERIALIZED: materialized (DuckDB's default for a CTE read twice) they were written out
    whole, 20 million wide rows, and read back; inlined, each reader scans only the columns
    it needs. #}
lab_results as not materialized (

    select {{ table_row_id() }} as lab_row, * from {{ ref('fct_lab_result') }}
    where {{ in_sites(site_list) }}

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}
    where {{ in_sites(site_list) }}

),

parameters as (

    select * from {{ ref('adam_parameters') }}
    where dataset = 'ADLB'

),

lab_tests as (

    select * from {{ ref('lab_tests') }}

),

sequence_numbers as (

    select
        lab_results.lab_row,
        row_number() over (
            partition by lab_results.site_id, lab_results.subject_id
            order by parameters.paramn, lab_results.sample_date, lab_results.source_file, lab_results.source_row
        ) as sequence_number

    from lab_results
    left join parameters
        on lab_results.test_code = parameters.paramcd

),

with_baseline as not materialized (

    select
        lab_results.*,
        baselines.source_row is not null as is_baseline_record

    from lab_results
    left join baselines
        on lab_results.site_id = baselines.site_id
        and lab_results.subject_id = baselines.subject_id
        and lab_results.test_code = baselines.test_code
        and lab_results.source_file = baselines.source_file
        and lab_results.source_row = baselines.source_row

),

baseline_records as (

    select
        site_id,
        subject_id,
        test_code,
        range_flag as baseline_range_flag,
        ctcae_grade as baseline_ctcae_grade

    from with_baseline
    where is_baseline_record

),

final as (

    select
        ---------- identifiers
        {{ adam_identifiers('with_baseline') }},
        cast(sequence_numbers.sequence_number as {{ dbt.type_int() }}) as ASEQ,

        ---------- parameter
        with_baseline.test_code as PARAMCD,
        parameters.param_label || ' (' || lab_tests.canonical_unit || ')' as PARAM,
        parameters.paramn as PARAMN,
        parameters.parcat1 as PARCAT1,

        ---------- value
        with_baseline.value as AVAL,
        case
            when with_baseline.value_qualifier is not null
                then with_baseline.value_qualifier || cast(with_baseline.value as {{ dbt.type_string() }})
        end as AVALC,

        ---------- timing
        with_baseline.sample_date as ADT,
        with_baseline.study_day as ADY,
        {{ analysis_visit('with_baseline.treatment_month') }} as AVISIT,
        with_baseline.treatment_month as AVISITN,

        ---------- baseline and change
        case when with_baseline.is_baseline_record then 'Y' end as ABLFL,
        with_baseline.baseline_value as BASE,
        case when with_baseline.treatment_month >= 1 then with_baseline.value - with_baseline.baseline_value end as CHG,
        case
            when with_baseline.treatment_month >= 1 and with_baseline.baseline_value <> 0
                then 100 * (with_baseline.value - with_baseline.baseline_value) / with_baseline.baseline_value
        end as PCHG,

        ---------- reference range and toxicity
        with_baseline.ref_low as ANRLO,
        with_baseline.ref_high as ANRHI,
        {{ reference_range_indicator('with_baseline.range_flag') }} as ANRIND,
        {{ reference_range_indicator('baseline_records.baseline_range_flag') }} as BNRIND,
        cast(with_baseline.ctcae_grade as {{ dbt.type_string() }}) as ATOXGR,
        cast(baseline_records.baseline_ctcae_grade as {{ dbt.type_string() }}) as BTOXGR,
        case when with_baseline.is_post_baseline then 'Y' end as ONTRTFL,

        ---------- traceability
        with_baseline.source_file as SRCFILE,
        with_baseline.source_row as SRCROW,

        ---------- incremental build
        with_baseline.build_key

    from with_baseline
    inner join sequence_numbers
        on with_baseline.lab_row = sequence_numbers.lab_row
    left join parameters
        on with_baseline.test_code = parameters.paramcd
    left join lab_tests
        on with_baseline.test_code = lab_tests.test_code
    left join baseline_records
        on with_baseline.site_id = baseline_records.site_id
        and with_baseline.subject_id = baseline_records.subject_id
        and with_baseline.test_code = baseline_records.test_code

)

select * from final
