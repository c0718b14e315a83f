with

source as (

    {{ current_rows('adverse_events') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- properties
        cast(source.ae_term as {{ dbt.type_string() }}) as ae_term,
        cast(source.serious as {{ dbt.type_boolean() }}) as is_serious,
        cast(source.related as {{ dbt.type_boolean() }}) as is_related,

        ---------- dates
        cast(source.onset_date as date) as onset_date,
        cast(source.resolution_date as date) as resolution_date,

        ---------- numerics
        cast(source.ctcae_grade as {{ dbt.type_int() }}) as ctcae_grade,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
