{#- Study time (endpoints.md §1). Every model that places an event in study time calls these
    macros, so "no day 0" and "Day 1 is baseline" are written once. -#}

{% macro study_day(event_date, day1_date) -%}
    {#- date - Day1 + 1 on or after Day 1, date - Day1 before it: there is no day 0. -#}
    (case
        when {{ event_date }} >= {{ day1_date }}
            then {{ dbt.datediff(day1_date, event_date, 'day') }} + 1
        else {{ dbt.datediff(day1_date, event_date, 'day') }}
    end)
{%- endmacro %}


{% macro treatment_month(study_day) -%}
    {#- Month 0 = days baseline_first_day .. 1 (Day 1 is baseline); month k >= 1 = days
        30(k-1)+1 .. 30k, month 1 starting at Day 2. Null before the baseline window.
        int_treatment_months holds the inverse (month -> first/last day); its unit test pins
        both at the same boundaries. -#}
    (case
        when {{ study_day }} between {{ var('baseline_first_day') }} and 1 then 0
        when {{ study_day }} >= 2
            then cast(floor(cast({{ study_day }} - 1 as {{ type_double() }}) / {{ var('days_per_month') }}) as {{ dbt.type_int() }}) + 1
    end)
{%- endmacro %}


{% macro add_days(date_expr, days) -%}
    {#- dbt.dateadd returns a timestamp on DuckDB; windows compare dates. -#}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}


{% macro cutoff_date() -%}
    {#- The data cutoff. A load gives it in quality.load_log, not as --vars, so that dbt's saved
        parse serves every load: the latest row of the warehouse's load_log is the load that
        builds it (in the candidate) or built it (in a published file, whose views therefore
        keep that load's cutoff). Unit tests and `dbt docs` give it as --vars cutoff_date.
        Without either: the latest export date of a loaded file (endpoints.md §1). -#}
    {%- set given = var('cutoff_date', none) -%}
    {%- if given -%}
        cast('{{ given }}' as date)
    {%- else -%}
        (select coalesce(
            (select {{ arg_max("cutoff_date", "started_at") }} from {{ source('quality', 'load_log') }}),
            (select max(export_date) from {{ source('quality', 'file_manifest') }} where status = 'loaded')
        ))
    {%- endif -%}
{%- endmacro %}
