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
    A value with a `<`/`>` qualifier (§6 v1.1) is graded only when every value it allows has
    the same grade (see `graded` below); otherwise ctcae_grade is null (not determinable).
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
        baselines.baseline_value_qualifier,
        coalesce(baselines.baseline_range_flag = 'H', false) as is_baseline_high,
        -- For the rules' applies_when: no baseline = not high; a baseline whose flag is not
        -- determinable (a qualified value, §6 v1.1) leaves it unknown (null).
        case
            when baselines.baseline_value is null then false
            when baselines.baseline_range_flag = 'H' then true
            when baselines.baseline_range_flag in ('L', 'N') then false
        end as baseline_high_state

    from lab_results
    left join baselines
        on lab_results.site_id = baselines.site_id
        and lab_results.subject_id = baselines.subject_id
        and lab_results.test_code = baselines.test_code

),

-- Correlated subqueries over the test's rules. DuckDB grades each distinct combination of
-- the row values they read (test, value bounds, limits, baseline value and flag) once and
-- joins the grades back (a delim join: null inputs match null inputs), which keeps the build
-- linear at registry scale and lets it spill; a per-row max over rows x rules grouped by row
-- spilled there, and one subquery returning both bounds as a struct over nested derived
-- tables ran out of memory where these spill (tests/e2e/test_incremental_labs.py, 100MB).
-- With with_baseline read once, a filter on site_id over this view reaches the lab rows'
-- scan: fct_lab_result's incremental build of one site reads that site's rows only.
-- Qualified values (§6 v1.1): the row allows every value from value_low to value_high
-- (int_lab_results_ranged). ctcae_grade_min is the highest grade whose rule every allowed
-- value meets (and that surely applies); ctcae_grade_max the highest grade whose rule some
-- allowed value meets (or might apply: a baseline state or limit that is not certain).
-- ctcae_grade is given when the two agree, null (not determinable) otherwise. Without a
-- qualifier both are the grade of the value, as before.
{%- set applies -%}
    case ctcae_grades.applies_when
        when 'always' then ctcae_grades.basis <> 'baseline' or with_baseline.baseline_value is not null
        when 'baseline_high' then with_baseline.baseline_high_state
        when 'baseline_not_high' then not with_baseline.baseline_high_state
    end
{%- endset -%}
{%- set is_exact -%}
    (ctcae_grades.basis <> 'baseline' or with_baseline.baseline_value_qualifier is null)
{%- endset -%}
{%- set limit -%}
    (case ctcae_grades.basis
        when 'uln' then ctcae_grades.threshold * with_baseline.ref_high
        when 'lln' then ctcae_grades.threshold * with_baseline.ref_low
        when 'baseline' then ctcae_grades.threshold * with_baseline.baseline_value
        when 'absolute' then ctcae_grades.threshold
    end)
{%- endset -%}
{%- set meets_all -%}
    coalesce(case ctcae_grades.comparator
        when '>' then with_baseline.value_low > {{ limit }}
            or (with_baseline.value_low = {{ limit }} and with_baseline.value_qualifier = '>')
        when '>=' then with_baseline.value_low >= {{ limit }}
        when '<' then with_baseline.value_high < {{ limit }}
            or (with_baseline.value_high = {{ limit }} and with_baseline.value_qualifier = '<')
        when '<=' then with_baseline.value_high <= {{ limit }}
    end, false)
{%- endset -%}
{%- set meets_some -%}
    coalesce(case ctcae_grades.comparator
        when '>' then with_baseline.value_high is null or with_baseline.value_high > {{ limit }}
        when '>=' then with_baseline.value_high is null or with_baseline.value_high > {{ limit }}
            or (with_baseline.value_high = {{ limit }} and coalesce(with_baseline.value_qualifier, '') <> '<')
        when '<' then with_baseline.value_low is null or with_baseline.value_low < {{ limit }}
        when '<=' then with_baseline.value_low is null or with_baseline.value_low < {{ limit }}
            or (with_baseline.value_low = {{ limit }} and coalesce(with_baseline.value_qualifier, '') <> '>')
    end, false)
{%- endset %}
graded as (

    select
        with_baseline.*,
        (
            select max(case when ({{ applies }}) and {{ is_exact }} and {{ meets_all }}
                            then ctcae_grades.grade else 0 end)
            from ctcae_grades
            where ctcae_grades.test_code = with_baseline.test_code
        ) as ctcae_grade_min,
        (
            select max(case when coalesce({{ applies }}, true) and (not {{ is_exact }} or {{ meets_some }})
                            then ctcae_grades.grade else 0 end)
            from ctcae_grades
            where ctcae_grades.test_code = with_baseline.test_code
        ) as ctcae_grade_max

    from with_baseline

),

final as (

    select
        graded.*,
        case when graded.ctcae_grade_min = graded.ctcae_grade_max then graded.ctcae_grade_min end as ctcae_grade

    from graded

)

select * from final
