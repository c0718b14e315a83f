{{ config(materialized='view') }}

{#- ADLB (adam.md §2, BDS): one row per lab result of marts.fct_lab_result. The rows are
    derived, incrementally by site, in int_lab_results_analysed; this view shows them
    without its build key, exactly as adlb.xpt holds them. The view names its source without
    the catalog: a published version is opened under its own file name (versions/<load>.duckdb,
    attached as anything), where a view bound to "warehouse" would not resolve. Under its
    contract, dbt checks the view's columns before it creates it: both are bound in the view's
    own catalog (use_own_catalog, macros/portability.sql). -#}

{% call set_sql_header(config) %}{{ use_own_catalog(this) }}{% endcall %}

select {{ star_except(ref('int_lab_results_analysed'), ['build_key']) }}
from {{ ref('int_lab_results_analysed').include(database=False) }}
