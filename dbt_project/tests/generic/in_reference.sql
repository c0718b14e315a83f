{#- `relationships` to a vocabulary seed, restricted to the seed rows that satisfy `subset`
    (e.g. the response categories a single sample can have): the column's values come from the
    seed, not from an accepted_values list that could drift from it. (`where` would be dbt's
    own test config, filtering the tested model.) -#}
{% test in_reference(model, column_name, to, field, subset=none) %}
{{ values_not_in_reference(model, column_name, to, field, subset) }}
{% endtest %}
