with

source as (

    select * from {{ source('site_exports', 'adverse_events') }}

),

current_files as (

    {{ current_snapshot_files('adverse_events') }}

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
    inner join current_files
        on source.source_sha256 = current_files.sha256
        and source.site_id = current_files.site_id
    inner join known_subjects
        on source.site_id = known_subjects.site_id
        and source.subject_id = known_subjects.subject_id

)

select * from renamed
