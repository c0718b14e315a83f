{#- n and denominator of every endpoint x timepoint row of endpoints.md §7. Each family starts
    from its full list of timepoints (months, classes, tests) so a row exists even when its
    denominator is 0. -#}

with

subjects as (

    select * from {{ ref('dim_subject') }}
    where is_treated

),

initial_responses as (

    select * from {{ ref('endpoint_initial_response') }}

),

patient_months as (

    select * from {{ ref('patient_month') }}

),

treatment_months as (

    select * from {{ ref('int_treatment_months_enumerated') }}
    where treatment_month <= {{ var('report_months') }}

),

lab_subjects as (

    select * from {{ ref('int_subject_tests_graded') }}

),

ctcae_tests as (

    select distinct test_code from {{ ref('ctcae_v5_grades') }}

),

drug_classes as (

    select drug_class from {{ ref('drug_classes') }}
    where is_itp_medication

),

conmed_periods as (

    select * from {{ ref('int_conmed_periods_timed') }}

),

conmed_period_ends as (

    select * from {{ ref('int_conmed_period_ends_classified') }}

),

adverse_events as (

    select * from {{ ref('int_adverse_events_timed') }}
    where is_treatment_emergent

),

---------- treated subjects' disposition, exposure and adverse events: denominator = treated subjects

adverse_event_subjects as (

    select
        site_id,
        subject_id,
        max(case when ctcae_grade >= {{ var('severe_min_grade') }} then 1 else 0 end) as has_severe,
        max(case when is_serious then 1 else 0 end) as has_serious,
        max(case when is_related then 1 else 0 end) as has_related
    from adverse_events
    group by site_id, subject_id

),

subject_outcomes as (

    select
        subjects.*,
        adverse_event_subjects.subject_id is not null as has_ae,
        coalesce(adverse_event_subjects.has_severe, 0) = 1 as has_severe_ae,
        coalesce(adverse_event_subjects.has_serious, 0) = 1 as has_serious_ae,
        coalesce(adverse_event_subjects.has_related, 0) = 1 as has_related_ae
    from subjects
    left join adverse_event_subjects
        on subjects.site_id = adverse_event_subjects.site_id
        and subjects.subject_id = adverse_event_subjects.subject_id

),

{%- set withdrawn_for_ae = "current_status = 'withdrawn' and withdrawal_reason = 'adverse_event'" %}
{%- set subject_endpoints = [
    ('treated', 'all', 'true'),
    ('exposure_ge_3m', 'all', in_exposure_band('exposure_days', '3m')),
    ('exposure_gt_6m', 'all', in_exposure_band('exposure_days', '6m')),
    ('exposure_ge_12m', 'all', in_exposure_band('exposure_days', '12m')),
    ('withdrawn', 'all', "current_status = 'withdrawn'"),
    ('withdrawn', 'no_response', "current_status = 'withdrawn' and withdrawal_reason = 'no_response'"),
    ('withdrawn', 'adverse_event', withdrawn_for_ae),
    ('withdrawn', 'other',
        "current_status = 'withdrawn' and coalesce(withdrawal_reason, 'other') not in ('no_response', 'adverse_event')"),
    ('ae_any', 'all', 'has_ae'),
    ('ae_grade3plus', 'all', 'has_severe_ae'),
    ('ae_serious', 'all', 'has_serious_ae'),
    ('ae_related', 'all', 'has_related_ae'),
    ('ae_led_to_withdrawal', 'all', withdrawn_for_ae),
] %}

subject_counts as (
    {% for endpoint, timepoint, condition in subject_endpoints %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select '{{ endpoint }}' as endpoint, '{{ timepoint }}' as timepoint,
        {{ count_where(condition) }} as n, count(*) as denominator
    from subject_outcomes
    {%- endfor %}

),

---------- platelet response: denominator = subjects with a baseline (and a sample in the month)
-- "or" = overall response (CR or R), "cr" = complete response.

{%- set response_levels = [('or', "('CR', 'R')"), ('cr', "('CR')")] %}

initial_response_counts as (
    {% for level, categories in response_levels %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select 'initial_{{ level }}' as endpoint, 'day14' as timepoint,
        {{ count_where('best_response in ' ~ categories) }} as n,
        {{ count_where('baseline_plt is not null') }} as denominator
    from initial_responses
    {%- endfor %}

),

month_outcomes as (

    select
        treatment_months.timepoint,
        treatment_months.treatment_month,
        patient_months.best_response,
        patient_months.any_bleeding
    from treatment_months
    left join patient_months
        on treatment_months.treatment_month = patient_months.treatment_month

),

monthly_response_counts as (
    {% for level, categories in response_levels %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select 'response_{{ level }}' as endpoint, timepoint,
        {{ count_where('best_response in ' ~ categories) }} as n,
        {{ count_where("best_response in ('CR', 'R', 'NR')") }} as denominator
    from month_outcomes
    where treatment_month >= 1
    group by timepoint
    {%- endfor %}

),

---------- bleeding: denominator = subjects assessed in the window

bleeding_counts as (

    select 'bleeding_any' as endpoint, timepoint,
        {{ count_where('any_bleeding') }} as n,
        {{ count_where('any_bleeding is not null') }} as denominator
    from month_outcomes
    group by timepoint

),

---------- concomitant ITP medication

baseline_users as (

    select distinct conmed_periods.site_id, conmed_periods.subject_id, conmed_periods.drug_class
    from conmed_periods
    inner join subjects
        on conmed_periods.site_id = subjects.site_id
        and conmed_periods.subject_id = subjects.subject_id
    where conmed_periods.is_baseline_use

),

reducers as (

    select distinct site_id, subject_id, baseline_drug_class as drug_class
    from conmed_period_ends
    where is_reduced_or_stopped

),

conmed_subjects as (

    select distinct site_id, subject_id
    from baseline_users

),

reducer_subjects as (

    select distinct site_id, subject_id
    from reducers

),

conmed_counts as (

    select 'conmed_baseline' as endpoint, 'all' as timepoint,
        (select count(*) from conmed_subjects) as n,
        (select count(*) from subjects) as denominator

    union all
    select 'conmed_reduced', 'month_3_to_6',
        sum(case when reducer_subjects.subject_id is not null then 1 else 0 end),
        count(*)
    from conmed_subjects
    left join reducer_subjects
        on conmed_subjects.site_id = reducer_subjects.site_id
        and conmed_subjects.subject_id = reducer_subjects.subject_id

    union all
    select 'conmed_reduced', drug_classes.drug_class || '_month_3_to_6',
        sum(case when reducers.subject_id is not null then 1 else 0 end),
        count(baseline_users.subject_id)
    from drug_classes
    left join baseline_users
        on drug_classes.drug_class = baseline_users.drug_class
    left join reducers
        on baseline_users.site_id = reducers.site_id
        and baseline_users.subject_id = reducers.subject_id
        and baseline_users.drug_class = reducers.drug_class
    group by drug_classes.drug_class

),

---------- lab safety: denominator = subjects with a post-baseline result of the test
-- A `<x`/`>x` value allows a range of grades (ctcae_grade_min .. ctcae_grade_max, §6 v1.1):
-- a subject's worst grade is at least the highest min and at most the highest max. "Grade >= k"
-- is counted in n when certain (highest min >= k) and in n_not_determinable when only possible
-- (lab_subjects: the worst grades per subject and test, int_subject_tests_graded).

{%- set lab_levels = [('lab_grade1plus', 1), ('lab_grade3plus', var('severe_min_grade'))] %}

lab_counts as (
    {% for endpoint, grade in lab_levels %}
    {%- if not loop.first %}
    union all
    {%- endif %}
    select '{{ endpoint }}' as endpoint, ctcae_tests.test_code as timepoint,
        {{ count_where('lab_subjects.worst_grade_certain >= ' ~ grade) }} as n,
        count(lab_subjects.subject_id) as denominator,
        {{ count_where('lab_subjects.worst_grade_certain < ' ~ grade ~ ' and lab_subjects.worst_grade_possible >= ' ~ grade) }}
            as n_not_determinable
    from ctcae_tests
    left join lab_subjects
        on ctcae_tests.test_code = lab_subjects.test_code
    group by ctcae_tests.test_code
    {%- endfor %}

),

unioned as (

    -- Only the lab endpoints rest on values that may be bounds (`<x`, `>x`).
    select *, 0 as n_not_determinable from subject_counts
    union all
    select *, 0 from initial_response_counts
    union all
    select *, 0 from monthly_response_counts
    union all
    select *, 0 from bleeding_counts
    union all
    select *, 0 from conmed_counts
    union all
    select * from lab_counts

),

final as (

    select
        cast(endpoint as {{ dbt.type_string() }}) as endpoint,
        cast(timepoint as {{ dbt.type_string() }}) as timepoint,
        cast(coalesce(n, 0) as {{ dbt.type_int() }}) as n,
        cast(coalesce(denominator, 0) as {{ dbt.type_int() }}) as denominator,
        cast(coalesce(n_not_determinable, 0) as {{ dbt.type_int() }}) as n_not_determinable

    from unioned

)

select * from final
