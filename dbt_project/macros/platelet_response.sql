{#- IWG response categories (endpoints.md §4) as an order, so "best" is a max() and "at
    least the same category" is a >=. -#}

{% macro response_rank(category) -%}
    (case {{ category }} when 'CR' then 3 when 'R' then 2 when 'NR' then 1 end)
{%- endmacro %}


{% macro response_category(rank) -%}
    (case {{ rank }} when 3 then 'CR' when 2 then 'R' when 1 then 'NR' end)
{%- endmacro %}


{% macro in_initial_response_window(study_day) -%}
    {#- The initial response's window (endpoints.md §4): study days 2 .. initial_response_last_day
        (Day 1 is baseline). -#}
    ({{ study_day }} between 2 and {{ var('initial_response_last_day') }})
{%- endmacro %}


{% macro first_assessment_reaching(published, assessments, reached, keys=['site_id', 'subject_id'], carried=[]) -%}
    {#- The select of, per row of `published` (a CTE with `keys`, plus the `carried` columns),
        the first of its `assessments` (a CTE with `keys`, sample_date and study_day) that
        `reached` (a condition on both: the assessment reaches the category published for the
        row): its sample_date and study_day. The date of the best initial response
        (endpoint_initial_response) and ADRS's ADT of every record are this one rule. -#}
    select
        {%- for key in keys %}
        {{ published }}.{{ key }},
        {%- endfor %}
        {%- for column in carried %}
        {{ published }}.{{ column }},
        {%- endfor %}
        min({{ assessments }}.sample_date) as sample_date,
        min({{ assessments }}.study_day) as study_day

    from {{ published }}
    inner join {{ assessments }}
        on {% for key in keys -%}
        {{ published }}.{{ key }} = {{ assessments }}.{{ key }}
        and {% endfor -%}
        {{ reached }}
    group by {% for column in keys + carried -%}
        {{ published }}.{{ column }}{{ ', ' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro first_loss_after(starts, start_date, platelet_days='platelet_days') -%}
    {#- The select of, per subject of `starts` (a CTE with site_id, subject_id and the date
        column `start_date`), the first loss of response after that date (endpoints.md §5) as
        loss_date: the earliest day of `platelet_days` (a CTE of int_platelet_days_classified)
        after it where a loss starts. A duration of response ends there; an initial response's
        confirmation must come before it. -#}
    select
        {{ starts }}.site_id,
        {{ starts }}.subject_id,
        min({{ platelet_days }}.sample_date) as loss_date

    from {{ starts }}
    inner join {{ platelet_days }}
        on {{ starts }}.site_id = {{ platelet_days }}.site_id
        and {{ starts }}.subject_id = {{ platelet_days }}.subject_id
        and {{ platelet_days }}.sample_date > {{ starts }}.{{ start_date }}
        and {{ platelet_days }}.is_loss_start
    group by {{ starts }}.site_id, {{ starts }}.subject_id
{%- endmacro %}
