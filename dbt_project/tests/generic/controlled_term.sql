{#- A column holds only the controlled terms of one export column (site-exports.md §3), read
    from the seed controlled_terms: the list ingestion checks (sources.domains), so dbt never
    keeps a second copy that could drift. `domain` / `column` name the export column (default:
    this column's name); integer terms are compared as their digits; nulls pass. -#}
{% test controlled_term(model, column_name, domain, column=none) %}
{{ values_not_in_reference(model, column_name, ref('controlled_terms'), 'term',
       "domain = '" ~ domain ~ "' and column_name = '" ~ (column if column is not none else column_name) ~ "'") }}
{% endtest %}
