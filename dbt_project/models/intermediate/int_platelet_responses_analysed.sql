{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- ADRS's rows (adam.md §2, BDS; adam.adrs shows them without the build key): the published platelet responses (endpoints.md §4, §5).
      INIRESP  best initial response by Day 14, one row per treated subject
               (marts.endpoint_initial_response), with the confirmation flag CONFFL;
      D14RESP  the response assessments it is the best of: one row per PLT sample day in
               study days 2 .. 14 (int_platelet_days_classified);
      MORESP   best response in treatment month k, one row per subject and month
               (marts.patient_month).
    ADT is the date of the first assessment reaching the record's category: the mart's
    response_date where it has one. AVISIT of the Day-14 window is `Day 14` (AVISITN 0.5:
    after Baseline 0, before Month 1).
    Incremental by site (macro sites_to_derive), like ADLB's rows: every value of a row is its
    own subject's (the initial response mart is rebuilt whole, but its rows of a site depend on
    that site's rows only). -#}

{%- set site_list = sites_to_derive(this) %}

with

initial_responses as (

    select * from {{ ref('endpoint_initial_response') }}
    where {{ in_sites(site_list) }}

),

patient_months as (

    select * from {{ ref('patient_month') }}
    where {{ in_sites(site_list) }}
      and treatment_month >= 1

),

platelet_days as (

    select * from {{ ref('int_platelet_days_classified') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

parameters as (

    select * from {{ ref('adam_parameters') }}
    where dataset = 'ADRS'

),

window_days as (

    select *
    from platelet_days
    where {{ in_initial_response_window('study_day') }}

),

-- The first assessment of each subject's Day-14 window and of each month that reaches the
-- category the mart published for it.
first_window_days as (

    {{ first_assessment_reaching('initial_responses', 'window_days',
        'initial_responses.best_response = window_days.response') }}

),

first_month_days as (

    {{ first_assessment_reaching('patient_months', 'platelet_days',
        'patient_months.best_response = platelet_days.response',
        keys=['site_id', 'subject_id', 'treatment_month']) }}

),

initial_records as (

    select
        initial_responses.site_id,
        initial_responses.subject_id,
        'INIRESP' as paramcd,
        initial_responses.best_response as avalc,
        coalesce(initial_responses.response_date, first_window_days.sample_date) as adt,
        coalesce(initial_responses.response_day, first_window_days.study_day) as ady,
        'Day 14' as avisit,
        0.5 as avisitn,
        {{ sas_flag('initial_responses.baseline_plt is not null') }} as anl01fl,
        case
            when initial_responses.confirmed then 'Y'
            when not initial_responses.confirmed then 'N'
        end as conffl

    from initial_responses
    left join first_window_days
        on initial_responses.site_id = first_window_days.site_id
        and initial_responses.subject_id = first_window_days.subject_id

),

window_records as (

    select
        window_days.site_id,
        window_days.subject_id,
        'D14RESP' as paramcd,
        window_days.response as avalc,
        window_days.sample_date as adt,
        window_days.study_day as ady,
        'Day 14' as avisit,
        0.5 as avisitn,
        case when window_days.sample_date = first_window_days.sample_date then 'Y' end as anl01fl,
        cast(null as {{ dbt.type_string() }}) as conffl

    from window_days
    inner join initial_responses
        on window_days.site_id = initial_responses.site_id
        and window_days.subject_id = initial_responses.subject_id
    left join first_window_days
        on window_days.site_id = first_window_days.site_id
        and window_days.subject_id = first_window_days.subject_id

),

month_records as (

    select
        patient_months.site_id,
        patient_months.subject_id,
        'MORESP' as paramcd,
        patient_months.best_response as avalc,
        first_month_days.sample_date as adt,
        first_month_days.study_day as ady,
        {{ analysis_visit('patient_months.treatment_month') }} as avisit,
        cast(patient_months.treatment_month as {{ type_double() }}) as avisitn,
        case
            when patient_months.treatment_month <= {{ var('report_months') }}
                and patient_months.best_response <> 'NE' then 'Y'
        end as anl01fl,
        cast(null as {{ dbt.type_string() }}) as conffl

    from patient_months
    left join first_month_days
        on patient_months.site_id = first_month_days.site_id
        and patient_months.subject_id = first_month_days.subject_id
        and patient_months.treatment_month = first_month_days.treatment_month

),

records as (

    select * from initial_records
    union all
    select * from window_records
    union all
    select * from month_records

),

final as (

    select
        {{ adam_identifiers('records') }},
        records.paramcd as PARAMCD,
        parameters.param_label as PARAM,
        parameters.paramn as PARAMN,
        records.avalc as AVALC,
        {{ response_avaln('records.avalc') }} as AVAL,
        case when records.avalc <> 'NE' then records.adt end as ADT,
        case when records.avalc <> 'NE' then records.ady end as ADY,
        records.avisit as AVISIT,
        cast(records.avisitn as {{ type_double() }}) as AVISITN,
        records.anl01fl as ANL01FL,
        records.conffl as CONFFL,

        ---------- incremental build
        site_keys.build_key

    from records
    left join parameters
        on records.paramcd = parameters.paramcd
    inner join site_keys
        on records.site_id = site_keys.site_id

)

select * from final
