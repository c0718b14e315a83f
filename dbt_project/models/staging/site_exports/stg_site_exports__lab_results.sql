with

source as (

    {{ current_rows('labs') }}

),

renamed as (

    select
        ---------- ids
        source.site_id,
        source.subject_id,

        ---------- properties
        cast(source.test_code as {{ dbt.type_string() }}) as test_code,
        cast(source.original_test_code as {{ dbt.type_string() }}) as original_test_code,
        cast(source.unit as {{ dbt.type_string() }}) as unit,
        cast(source.value_qualifier as {{ dbt.type_string() }}) as value_qualifier,
        cast(source.original_value as {{ dbt.type_string() }}) as original_value,
        cast(source.original_unit as {{ dbt.type_string() }}) as original_unit,

        ---------- dates
        cast(source.sample_date as date) as sample_date,

        ---------- numerics (canonical unit)
        cast(source.value as {{ type_double() }}) as value,
        cast(source.conversion_factor as {{ type_double() }}) as conversion_factor,
        cast(source.ref_low as {{ type_double() }}) as site_ref_low,
        cast(source.ref_high as {{ type_double() }}) as site_ref_high,

        ---------- provenance
        source.source_file,
        source.source_sha256,
        source.source_row,
        source.export_date

    from source

)

select * from renamed
