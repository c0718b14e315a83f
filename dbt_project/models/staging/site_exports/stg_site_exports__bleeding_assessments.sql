with

source as (

    {{ current_rows('bleeding') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- dates
        cast(source.assessment_date as date) as assessment_date,

        ---------- numerics
        cast(source.who_grade as {{ dbt.type_int() }}) as who_grade,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
