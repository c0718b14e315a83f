{#- ADAE (adam.md §2, OCCDS): one row per adverse event of the current snapshots, timed by
    int_adverse_events_timed (the model the AE endpoints count). AETERM is the site's text as
    written: Chinese terms stay Chinese here; the XPT export withholds them (adam.md §3). -#}

with

adverse_events as (

    select * from {{ ref('int_adverse_events_timed') }}

),

final as (

    select
        {{ adam_identifiers('adverse_events') }},
        {{ adam_sequence('adverse_events', 'adverse_events.onset_date') }} as AESEQ,
        adverse_events.ae_term as AETERM,
        cast(null as {{ dbt.type_string() }}) as AEDECOD,
        adverse_events.onset_date as ASTDT,
        adverse_events.resolution_date as AENDT,
        adverse_events.onset_study_day as ASTDY,
        cast(adverse_events.ctcae_grade as {{ dbt.type_string() }}) as AETOXGR,
        case when adverse_events.is_serious then 'Y' when not adverse_events.is_serious then 'N' end as AESER,
        case when adverse_events.is_related then 'RELATED' when not adverse_events.is_related then 'NOT RELATED' end as AREL,
        case when adverse_events.is_treatment_emergent then 'Y' end as TRTEMFL,
        case when adverse_events.resolution_date is not null then 'RESOLVED' else 'NOT RESOLVED' end as AEOUT,
        adverse_events.source_file as SRCFILE,
        adverse_events.source_row as SRCROW

    from adverse_events

)

select * from final
