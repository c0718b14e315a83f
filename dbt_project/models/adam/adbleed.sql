{{ config(materialized='view') }}

{#- ADBLEED (BDS): WHO bleeding grades. The rows are derived, incrementally by site, in
    int_bleeding_assessments_analysed; this view shows them as adbleed.xpt holds them. -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

{{ rows_without_build_key(ref('int_bleeding_assessments_analysed')) }}
