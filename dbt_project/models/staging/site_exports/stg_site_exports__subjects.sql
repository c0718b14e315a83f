with

source as (

    {{ current_rows('subjects') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- properties
        cast(source.sex as {{ dbt.type_string() }}) as sex,
        cast(source.birth_year as {{ dbt.type_int() }}) as birth_year,

        ---------- dates
        cast(source.diagnosis_date as date) as diagnosis_date,
        cast(source.enrollment_date as date) as enrollment_date,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
