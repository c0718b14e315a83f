{{ config(materialized='view') }}

{#- ADRS (adam.md §2, BDS): the published platelet responses. The rows are derived,
    incrementally by site, in int_platelet_responses_analysed; this view shows them without
    its build key, exactly as adrs.xpt holds them (the catalog-free binding of adlb.sql, for
    the same reason). -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

select {{ star_except(ref('int_platelet_responses_analysed'), ['build_key']) }}
from {{ ref('int_platelet_responses_analysed').include(database=False) }}
