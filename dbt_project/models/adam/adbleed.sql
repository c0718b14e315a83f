{{ config(materialized='view') }}

{#- ADBLEED (BDS): WHO bleeding grades. The rows are derived, incrementally by site, in
    int_bleeding_assessments_analysed; this view shows them without its build key, exactly as
    adbleed.xpt holds them (the catalog-free binding of adlb.sql, for the same reason). -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

select {{ star_except(ref('int_bleeding_assessments_analysed'), ['build_key']) }}
from {{ ref('int_bleeding_assessments_analysed').include(database=False) }}
