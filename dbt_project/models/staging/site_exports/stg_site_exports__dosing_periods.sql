with

source as (

    select * from {{ source('site_exports', 'dosing') }}

),

current_files as (

    {{ current_snapshot_files('dosing') }}

),

-- subjects of the site's current subjects snapshot: rows of others (orphans) stay out
known_subjects as (

    {{ current_subject_keys() }}

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
    inner join current_files
        on source.source_sha256 = current_files.sha256
        and source.site_id = current_files.site_id
    inner join known_subjects
        on source.site_id = known_subjects.site_id
        and source.subject_id = known_subjects.subject_id

)

select * from renamed
