with

source as (

    {{ current_rows('dosing') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- dates
        cast(source.start_date as date) as start_date,
        cast(source.end_date as date) as end_date,

        ---------- numerics
        cast(source.dose_mg as {{ type_double() }}) as dose_mg,
        cast(source.doses_per_day as {{ dbt.type_int() }}) as doses_per_day,
        cast(source.dose_mg * source.doses_per_day as {{ type_double() }}) as daily_dose_mg,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
