with

source as (

    {{ current_rows('conmeds') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- properties
        cast(source.drug_name as {{ dbt.type_string() }}) as drug_name,
        cast(source.drug_class as {{ dbt.type_string() }}) as drug_class,
        cast(source.dose_unit as {{ dbt.type_string() }}) as dose_unit,

        ---------- dates
        cast(source.start_date as date) as start_date,
        cast(source.end_date as date) as end_date,

        ---------- numerics
        cast(source.daily_dose as {{ type_double() }}) as daily_dose,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
