{% macro count_where(condition) -%}
    {#- The number of rows where `condition` holds (unknown counts as not): the n and the
        denominators of the endpoint counts. -#}
    sum(case when {{ condition }} then 1 else 0 end)
{%- endmacro %}
