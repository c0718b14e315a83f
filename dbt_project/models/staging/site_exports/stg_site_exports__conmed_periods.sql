with

source as (

    select * from {{ source('site_exports', 'conmeds') }}

),

current_files as (

    {{ current_snapshot_files('conmeds') }}

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
    inner join current_files
        on source.source_sha256 = current_files.sha256
        and source.site_id = current_files.site_id
    inner join known_subjects
        on source.site_id = known_subjects.site_id
        and source.subject_id = known_subjects.subject_id

)

select * from renamed
