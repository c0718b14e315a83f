{#- SQL that differs between engines, behind adapter.dispatch: the models call these macros and
    each engine gets its own spelling. duckdb__ is what the warehouse runs; default__ is
    standard SQL that PostgreSQL runs (tests/dbt/test_postgres_build.py builds every model
    there and compares the marts). An engine of tomorrow (Spark, Trino) adds its own
    <adapter>__ version here; docs/architecture.md lists these macros. -#}

{% macro arg_max(value, ordering) -%}
    {{ return(adapter.dispatch('arg_max')(value, ordering)) }}
{%- endmacro %}

{% macro duckdb__arg_max(value, ordering) -%}
    arg_max({{ value }}, {{ ordering }})
{%- endmacro %}

{% macro default__arg_max(value, ordering) -%}
    {#- The value of the row with the largest ordering (rows whose ordering is null ignored, as
        DuckDB's arg_max does). -#}
    (array_agg({{ value }} order by {{ ordering }} desc) filter (where {{ ordering }} is not null))[1]
{%- endmacro %}
