{#- A column holds only the controlled terms of one export column (site-exports.md §3), read
    from the seed controlled_terms: the list ingestion checks (sources.domains), so dbt never
    keeps a second copy that could drift. `domain` / `column` name the export column (default:
    this column's name); integer terms are compared as their digits; nulls pass. -#}
{% test controlled_term(model, column_name, domain, column=none) %}
select {{ column_name }} as value_not_in_terms
from {{ model }}
where {{ column_name }} is not null
  and cast({{ column_name }} as {{ dbt.type_string() }}) not in (
    select term
    from {{ ref('controlled_terms') }}
    where domain = '{{ domain }}'
      and column_name = '{{ column if column is not none else column_name }}'
  )
{% endtest %}
