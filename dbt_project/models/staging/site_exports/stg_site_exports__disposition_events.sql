with

source as (

    {{ current_rows('disposition') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- properties
        cast(source.status as {{ dbt.type_string() }}) as status,
        cast(source.reason as {{ dbt.type_string() }}) as reason,

        ---------- dates
        cast(source.status_date as date) as status_date,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
