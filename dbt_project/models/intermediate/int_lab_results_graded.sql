{{ config(materialized='view') }}

{#- CTCAE v5 grade of every lab row (endpoints.md §6 item 3) from reference.ctcae_v5_grades:
    a row's grade is the highest grade whose rule matches, 0 when none does; null for tests
    without a CTCAE term (PLT, UREA). Every row is graded, baseline rows included; endpoints
    use post-baseline rows only (is_post_baseline). Rule semantics:
      basis      uln = threshold x the row's ULN, lln = threshold x the row's LLN,
                 baseline = threshold x the subject's baseline value of the test,
                 absolute = threshold;
      applies_when  baseline_high = the baseline sample was above its ULN (flag H),
                 baseline_not_high = otherwise (no baseline included), always.
    CREAT has uln and baseline rows that both apply, so the max is the worse of the two.
    A view: fct_lab_result is the one table of tens of millions of lab rows (writing them
    dominates the build), and every later step reads fct_lab_result. -#}

with

lab_results as (

    select * from {{ ref('int_lab_results_timed') }}

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}

),

ctcae_grades as (

    select * from {{ ref('ctcae_v5_grades') }}

),

with_baseline as (

    select
        lab_results.*,
        baselines.baseline_value,
        coalesce(baselines.baseline_range_flag = 'H', false) as is_baseline_high

    from lab_results
    left join baselines
        on lab_results.site_id = baselines.site_id
        and lab_results.subject_id = baselines.subject_id
        and lab_results.test_code = baselines.test_code

),

-- A grade depends only on these six inputs, and exports repeat the same combinations
-- thousands of times: grading each distinct combination once and joining the grades back keeps
-- the build linear at registry scale (a max() over every row x rule, grouped by row, spilled
-- to disk there). Null inputs match null inputs (is not distinct from).
grading_inputs as (

    select distinct
        test_code,
        value,
        ref_low,
        ref_high,
        baseline_value,
        is_baseline_high

    from with_baseline
    where test_code in (select test_code from ctcae_grades)

),

rule_limits as (

    select
        grading_inputs.*,
        ctcae_grades.grade,
        ctcae_grades.comparator,
        case ctcae_grades.applies_when
            when 'always' then true
            when 'baseline_high' then grading_inputs.is_baseline_high
            when 'baseline_not_high' then not grading_inputs.is_baseline_high
        end as is_applicable,
        case ctcae_grades.basis
            when 'uln' then ctcae_grades.threshold * grading_inputs.ref_high
            when 'lln' then ctcae_grades.threshold * grading_inputs.ref_low
            when 'baseline' then ctcae_grades.threshold * grading_inputs.baseline_value
            when 'absolute' then ctcae_grades.threshold
        end as limit_value

    from grading_inputs
    inner join ctcae_grades
        on grading_inputs.test_code = ctcae_grades.test_code

),

input_grades as (

    select
        test_code,
        value,
        ref_low,
        ref_high,
        baseline_value,
        is_baseline_high,
        max(
            case
                when not is_applicable then 0
                when comparator = '>' and value > limit_value then grade
                when comparator = '>=' and value >= limit_value then grade
                when comparator = '<' and value < limit_value then grade
                when comparator = '<=' and value <= limit_value then grade
                else 0
            end
        ) as ctcae_grade

    from rule_limits
    group by test_code, value, ref_low, ref_high, baseline_value, is_baseline_high

),

final as (

    select
        with_baseline.*,
        input_grades.ctcae_grade

    from with_baseline
    left join input_grades
        on with_baseline.test_code = input_grades.test_code
        and with_baseline.value is not distinct from input_grades.value
        and with_baseline.ref_low is not distinct from input_grades.ref_low
        and with_baseline.ref_high is not distinct from input_grades.ref_high
        and with_baseline.baseline_value is not distinct from input_grades.baseline_value
        and with_baseline.is_baseline_high = input_grades.is_baseline_high

)

select * from final
