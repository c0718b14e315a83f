{{ config(meta={'dagster': {'ref': {'name': 'endpoint_summary'}}}) }}
{#- (the meta attaches this check to endpoint_summary in Dagster; it also reads two seeds)
    endpoints.md §7 lists the rows of endpoint_summary; each endpoint must have all its
    timepoints even when their denominator is 0. -#}
{%- set months = var('report_months') -%}
with expected as (
    select 'treated' as endpoint, 1 as n_timepoints
    union all select 'exposure_ge_3m', 1
    union all select 'exposure_gt_6m', 1
    union all select 'exposure_ge_12m', 1
    union all select 'withdrawn', 4
    union all select 'initial_or', 1
    union all select 'initial_cr', 1
    union all select 'response_or', {{ months }}
    union all select 'response_cr', {{ months }}
    union all select 'bleeding_any', {{ months }} + 1
    union all select 'conmed_baseline', 1
    union all select 'conmed_reduced', 1 + (select count(*) from {{ ref('drug_classes') }} where is_itp_medication)
    union all select 'ae_any', 1
    union all select 'ae_grade3plus', 1
    union all select 'ae_serious', 1
    union all select 'ae_related', 1
    union all select 'ae_led_to_withdrawal', 1
    union all select 'lab_grade1plus', (select count(distinct test_code) from {{ ref('ctcae_v5_grades') }})
    union all select 'lab_grade3plus', (select count(distinct test_code) from {{ ref('ctcae_v5_grades') }})
),
actual as (
    select endpoint, count(*) as n_timepoints
    from {{ ref('endpoint_summary') }}
    group by endpoint
)
select expected.endpoint, expected.n_timepoints as expected_timepoints, actual.n_timepoints as actual_timepoints
from expected
left join actual on expected.endpoint = actual.endpoint
where actual.n_timepoints is null or actual.n_timepoints <> expected.n_timepoints
