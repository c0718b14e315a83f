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


{% macro raise_error(message) -%}
    {#- An expression that stops the query with `message` (a SQL string literal) when it is
        evaluated: in a CASE branch, only when that branch is taken. -#}
    {{ return(adapter.dispatch('raise_error')(message)) }}
{%- endmacro %}

{% macro duckdb__raise_error(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro default__raise_error(message) -%}
    {#- Standard SQL has no error(): a cast of the message to a date fails with the message in
        its text. current_timestamp keeps the planner from folding it as a constant (which
        PostgreSQL would do, raising it even when the branch is never taken). -#}
    cast({{ message }} || ' ' || cast(current_timestamp as varchar) as date)
{%- endmacro %}


{% macro star_except(relation, excluded) -%}
    {#- Every column of `relation` but the `excluded` ones (a select list). -#}
    {{ return(adapter.dispatch('star_except')(relation, excluded)) }}
{%- endmacro %}

{% macro duckdb__star_except(relation, excluded) -%}
    * exclude ({{ excluded | join(', ') }})
{%- endmacro %}

{% macro default__star_except(relation, excluded) -%}
    {#- Standard SQL has no EXCLUDE: the relation's columns, read from the database when the
        model runs (the relation is built before it; at parse time the list is not needed). -#}
    {%- if not execute -%}
        *
    {%- else -%}
        {%- set skip = excluded | map('lower') | list -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower not in skip -%}{%- do names.append(column.quoted) -%}{%- endif -%}
        {%- endfor -%}
        {{ names | join(', ') }}
    {%- endif -%}
{%- endmacro %}


{% macro integer_series(name, relation, last) -%}
    {#- A select of the rows `name` = 0, 1, ..., `last` (a column of the one-row CTE `relation`),
        an integer column. -#}
    {{ return(adapter.dispatch('integer_series')(name, relation, last)) }}
{%- endmacro %}

{% macro duckdb__integer_series(name, relation, last) -%}
    select cast(series as integer) as {{ name }}
    from (select unnest(range(0, {{ relation }}.{{ last }} + 1)) as series from {{ relation }}) as integer_series
{%- endmacro %}

{% macro default__integer_series(name, relation, last) -%}
    {#- A recursive query (SQL:1999), nested so that the model itself needs no WITH RECURSIVE. -#}
    with recursive integer_series ({{ name }}) as (
        select 0
        union all
        select integer_series.{{ name }} + 1
        from integer_series
        cross join {{ relation }}
        where integer_series.{{ name }} < {{ relation }}.{{ last }}
    )
    select {{ name }} from integer_series
{%- endmacro %}


{% macro use_own_catalog(relation) -%}
    {#- The sql_header of a view that names its sources without their catalog (adlb): names
        resolve in the view's own catalog when it is read, but dbt's contract check and the
        create statement are bound in the session's default catalog. -#}
    {{ return(adapter.dispatch('use_own_catalog')(relation)) }}
{%- endmacro %}

{% macro duckdb__use_own_catalog(relation) -%}
    {#- The profile attaches the warehouse to an in-memory database: its default catalog is
        `memory`. Every relation dbt writes is qualified, so the thread's session keeping
        `warehouse` as its default afterwards changes nothing else. -#}
    use {{ relation.database }};
{%- endmacro %}

{% macro default__use_own_catalog(relation) -%}
    {#- PostgreSQL: one database per connection; nothing to do. -#}
{%- endmacro %}


{% macro table_row_id() -%}
    {#- The physical id of a row of the table a query reads directly (not through a view): a
        join key as narrow as it gets, for joining back a value computed over a few columns
        (int_lab_results_analysed's ASEQ). Stable within one query. -#}
    {{ return(adapter.dispatch('table_row_id')()) }}
{%- endmacro %}

{% macro duckdb__table_row_id() -%}
    rowid
{%- endmacro %}

{% macro default__table_row_id() -%}
    {#- Standard SQL has none: PostgreSQL's ctid (an engine without one adds its own version). -#}
    ctid
{%- endmacro %}
