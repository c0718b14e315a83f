{#- Study time (endpoints.md §1). Every model that places an event in study time calls these
    macros, so "no day 0" and "Day 1 is baseline" are written once. -#}

{% macro days_between(first_date, second_date) -%}
    {#- second - first in days, a bigint on every engine (DuckDB's date difference is a bigint,
        PostgreSQL's an integer): the marts' contracts declare one type. -#}
    cast({{ dbt.datediff(first_date, second_date, 'day') }} as {{ dbt.type_bigint() }})
{%- endmacro %}


{% macro study_day(event_date, day1_date) -%}
    {#- date - Day1 + 1 on or after Day 1, date - Day1 before it: there is no day 0. -#}
    (case
        when {{ event_date }} >= {{ day1_date }}
            then {{ days_between(day1_date, event_date) }} + 1
        else {{ days_between(day1_date, event_date) }}
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
    {#- The data cutoff. The one rule for its default (endpoints.md §1: the latest export date
        seen, docs/decisions.md) lives in Python (ingest.intake.default_cutoff); each load
        stores the cutoff it resolved in quality.load_log, and dbt only reads it there: the
        latest row is the load that builds the candidate (or built the published file, whose
        views therefore keep that load's cutoff). A null there (every file refused) stays null.
        Reading it from the table, not from --vars, lets dbt's saved parse serve every load.
        Unit tests and `dbt docs` give it as --vars cutoff_date; without either, the build
        stops: a cutoff guessed here would be a second rule. -#}
    {%- set given = var('cutoff_date', none) -%}
    {%- if given -%}
        cast('{{ given }}' as date)
    {%- else -%}
        (select case
            when count(*) = 0 then {{ raise_error("'no cutoff: quality.load_log has no load and no --vars cutoff_date was given'") }}
            else (select cutoff_date from {{ source('quality', 'load_log') }} order by started_at desc limit 1)
         end
         from {{ source('quality', 'load_log') }})
    {%- endif -%}
{%- endmacro %}


{% macro in_exposure_band(exposure_days, band) -%}
    {#- The exposure bands of endpoints.md §1: >= 3 months, > 6 months, >= 12 months. The
        endpoint counts and ADSL's EXPxxFL flags both call this. -#}
    {%- if band == '3m' -%}
        ({{ exposure_days }} >= {{ var('exposure_3m_days') }})
    {%- elif band == '6m' -%}
        ({{ exposure_days }} > {{ var('exposure_6m_days') }})
    {%- elif band == '12m' -%}
        ({{ exposure_days }} >= {{ var('exposure_12m_days') }})
    {%- else -%}
        {{ exceptions.raise_compiler_error("unknown exposure band " ~ band) }}
    {%- endif -%}
{%- endmacro %}


{% macro placed_in_study_time(events, event_date, study_day_name='study_day', subjects_dosed='subjects_dosed') -%}
    {#- The select that places each row of `events` (a CTE with site_id, subject_id and the date
        column `event_date`) in study time (endpoints.md §1): its subject's Day 1, the date's
        study day (named `study_day_name`), treatment month, and whether it falls after the
        cutoff. `subjects_dosed`: a CTE of int_subjects_dosed; rows of subjects not treated keep
        a null Day 1, study day and month. The timed AE, bleeding and lab models start from it. -#}
    {%- set event_study_day = study_day(events ~ '.' ~ event_date, subjects_dosed ~ '.day1_date') -%}
    select
        {{ events }}.*,
        {{ subjects_dosed }}.day1_date,
        {{ event_study_day }} as {{ study_day_name }},
        {{ treatment_month(event_study_day) }} as treatment_month,
        {{ events }}.{{ event_date }} > {{ cutoff_date() }} as is_after_cutoff

    from {{ events }}
    left join {{ subjects_dosed }}
        on {{ events }}.site_id = {{ subjects_dosed }}.site_id
        and {{ events }}.subject_id = {{ subjects_dosed }}.subject_id
        and {{ subjects_dosed }}.is_treated
{%- endmacro %}
