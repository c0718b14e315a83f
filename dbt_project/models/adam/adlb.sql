{{ config(materialized='view') }}

{#- ADLB (adam.md §2, BDS): one row per lab result of marts.fct_lab_result. The rows are
    derived, incrementally by site, in int_lab_results_analysed; this view shows them as
    adlb.xpt holds them (macro rows_without_build_key says why the view is bound this way). -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

{{ rows_without_build_key(ref('int_lab_results_analysed')) }}
