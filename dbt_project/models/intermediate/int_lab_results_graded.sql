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

-- A correlated subquery over the test's rules. DuckDB grades each distinct combination of
-- the row values it reads (test, value, limits, baseline value and flag) once and joins the
-- grades back (a delim join: null inputs match null inputs), which keeps the build linear at
-- registry scale; a per-row max over rows x rules grouped by row spilled there. And with
-- with_baseline read once, a filter on site_id over this view reaches the lab rows' scan:
-- fct_lab_result's incremental build of one site reads that site's rows only.
final as (

    select
        with_baseline.*,
        (
            select max(
                case
                    when not rules.is_applicable then 0
                    when rules.comparator = '>' and with_baseline.value > rules.limit_value then rules.grade
                    when rules.comparator = '>=' and with_baseline.value >= rules.limit_value then rules.grade
                    when rules.comparator = '<' and with_baseline.value < rules.limit_value then rules.grade
                    when rules.comparator = '<=' and with_baseline.value <= rules.limit_value then rules.grade
                    else 0
                end
            )
            from (
                select
                    ctcae_grades.grade,
                    ctcae_grades.comparator,
                    case ctcae_grades.applies_when
                        when 'always' then true
                        when 'baseline_high' then with_baseline.is_baseline_high
                        when 'baseline_not_high' then not with_baseline.is_baseline_high
                    end as is_applicable,
                    case ctcae_grades.basis
                        when 'uln' then ctcae_grades.threshold * with_baseline.ref_high
                        when 'lln' then ctcae_grades.threshold * with_baseline.ref_low
                        when 'baseline' then ctcae_grades.threshold * with_baseline.baseline_value
                        when 'absolute' then ctcae_grades.threshold
                    end as limit_value
                from ctcae_grades
                where ctcae_grades.test_code = with_baseline.test_code
            ) as rules
        ) as ctcae_grade

    from with_baseline

)

select * from final
