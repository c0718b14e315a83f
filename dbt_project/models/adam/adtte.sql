{#- ADTTE (adam.md §2, BDS-TTE): duration of response, one row per responding subject of
    marts.endpoint_response_duration. AVAL is the mart's duration_days = ADT - STARTDT
    (endpoints.md §5): admiral's templates add 1 day, this study does not. -#}

with

durations as (

    select * from {{ ref('endpoint_response_duration') }}

),

parameters as (

    select * from {{ ref('adam_parameters') }}
    where dataset = 'ADTTE'

),

final as (

    select
        {{ adam_identifiers('durations') }},
        parameters.paramcd as PARAMCD,
        parameters.param_label as PARAM,
        parameters.paramn as PARAMN,
        durations.start_date as STARTDT,
        coalesce(durations.loss_date, durations.last_sample_date) as ADT,
        cast(durations.duration_days as {{ type_double() }}) as AVAL,
        cast(case when durations.censored then 1 else 0 end as {{ dbt.type_int() }}) as CNSR,
        case when durations.censored then 'LAST PLATELET ASSESSMENT' else 'LOSS OF RESPONSE' end as EVNTDESC,
        case when durations.censored then 'LAST PLATELET SAMPLE DATE' end as CNSDTDSC,
        'marts.endpoint_response_duration' as SRCDOM,
        case when durations.censored then 'last_sample_date' else 'loss_date' end as SRCVAR

    from durations
    cross join parameters

)

select * from final
