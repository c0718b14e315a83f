{#- IWG response categories (endpoints.md §4) as an order, so "best" is a max() and "at
    least the same category" is a >=. -#}

{% macro response_rank(category) -%}
    (case {{ category }} when 'CR' then 3 when 'R' then 2 when 'NR' then 1 end)
{%- endmacro %}


{% macro response_category(rank) -%}
    (case {{ rank }} when 3 then 'CR' when 2 then 'R' when 1 then 'NR' end)
{%- endmacro %}
