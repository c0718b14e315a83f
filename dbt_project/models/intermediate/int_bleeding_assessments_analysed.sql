{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- ADBLEED's rows (BDS; adam.adbleed shows them without the build key): WHO bleeding grades
    (endpoints.md §2). One row per assessment (int_bleeding_assessments_timed) and, with
    DTYPE = MAXIMUM, one row per treated subject and window with an assessment: the worst
    grade of the window (marts.patient_month), the record the bleeding endpoint counts.
    adam.md lists no bleeding dataset; the reference figures of endpoints.md §9 need it
    (docs/decisions.md, #15). Incremental by site (macro sites_to_derive), like ADLB's rows:
    every value of a row is its own subject's. -#}

{%- set site_list = sites_to_derive(this) %}

with

assessments as (

    select * from {{ ref('int_bleeding_assessments_timed') }}
    where {{ in_sites(site_list) }}

),

patient_months as (

    select * from {{ ref('patient_month') }}
    where {{ in_sites(site_list) }}
      and max_who_grade is not null

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

parameters as (

    select * from {{ ref('adam_parameters') }}
    where dataset = 'ADBLEED'

),

records as (

    select
        site_id,
        subject_id,
        cast(who_grade as {{ type_double() }}) as aval,
        assessment_date as adt,
        study_day as ady,
        treatment_month,
        cast(null as {{ dbt.type_string() }}) as dtype,
        is_bleeding,
        cast(null as {{ dbt.type_string() }}) as anl01fl,
        source_file,
        source_row

    from assessments

    union all

    select
        site_id,
        subject_id,
        cast(max_who_grade as {{ type_double() }}),
        cast(null as date),
        cast(null as {{ dbt.type_int() }}),
        treatment_month,
        'MAXIMUM',
        any_bleeding,
        case when treatment_month <= {{ var('report_months') }} then 'Y' end,
        cast(null as {{ dbt.type_string() }}),
        cast(null as {{ dbt.type_int() }})

    from patient_months

),

final as (

    select
        {{ adam_identifiers('records') }},
        {{ adam_sequence('records', 'records.treatment_month nulls last, records.dtype nulls first, records.adt') }} as ASEQ,
        parameters.paramcd as PARAMCD,
        parameters.param_label as PARAM,
        parameters.paramn as PARAMN,
        records.aval as AVAL,
        records.adt as ADT,
        records.ady as ADY,
        {{ analysis_visit('records.treatment_month') }} as AVISIT,
        records.treatment_month as AVISITN,
        records.dtype as DTYPE,
        'WHO grade >= 1 (any bleeding)' as CRIT1,
        {{ sas_flag('records.is_bleeding') }} as CRIT1FL,
        records.anl01fl as ANL01FL,
        records.source_file as SRCFILE,
        records.source_row as SRCROW,

        ---------- incremental build
        site_keys.build_key

    from records
    cross join parameters
    inner join site_keys
        on records.site_id = site_keys.site_id

)

select * from final
