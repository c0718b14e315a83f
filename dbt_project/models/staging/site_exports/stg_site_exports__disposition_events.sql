with

source as (

    select * from {{ source('site_exports', 'disposition') }}

),

current_files as (

    {{ current_snapshot_files('disposition') }}

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
    inner join current_files
        on source.source_sha256 = current_files.sha256
        and source.site_id = current_files.site_id
    inner join known_subjects
        on source.site_id = known_subjects.site_id
        and source.subject_id = known_subjects.subject_id

)

select * from renamed
