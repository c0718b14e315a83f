{{ config(materialized='view') }}

{#- ADRS (adam.md §2, BDS): the published platelet responses. The rows are derived,
    incrementally by site, in int_platelet_responses_analysed; this view shows them as
    adrs.xpt holds them. -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

{{ rows_without_build_key(ref('int_platelet_responses_analysed')) }}
