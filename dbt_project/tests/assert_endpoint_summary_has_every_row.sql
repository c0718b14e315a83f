{{ config(meta={'dagster': {'ref': {'name': 'endpoint_summary'}}}) }}
{#- (the meta attaches this check to endpoint_summary in Dagster; it also reads three seeds)
    endpoints.md §7 lists the rows of endpoint_summary; the seed `endpoints` lists its
    endpoints and the family of timepoints of each. Every endpoint of the seed must have all its
    timepoints, even when their denominator is 0, and the mart no endpoint the seed lacks. -#}
{%- set months = var('report_months') -%}
with timepoint_families as (
    select 'all' as timepoints, 1 as n_timepoints
    union all select 'day14', 1
    union all select 'withdrawal_reasons', 4    -- all, no_response, adverse_event, other
    union all select 'treatment_months', {{ months }}
    union all select 'baseline_and_treatment_months', {{ months }} + 1
    union all select 'itp_drug_classes', 1 + (select count(*) from {{ ref('drug_classes') }} where is_itp_medication)
    union all select 'ctcae_tests', (select count(distinct test_code) from {{ ref('ctcae_v5_grades') }})
),
expected as (
    select endpoints.endpoint, timepoint_families.n_timepoints
    from {{ ref('endpoints') }} as endpoints
    left join timepoint_families on endpoints.timepoints = timepoint_families.timepoints
),
actual as (
    select endpoint, count(*) as n_timepoints
    from {{ ref('endpoint_summary') }}
    group by endpoint
)
select
    coalesce(expected.endpoint, actual.endpoint) as endpoint,
    expected.n_timepoints as expected_timepoints,
    actual.n_timepoints as actual_timepoints
from expected
full outer join actual on expected.endpoint = actual.endpoint
where expected.n_timepoints is null
    or actual.n_timepoints is null
    or actual.n_timepoints <> expected.n_timepoints
