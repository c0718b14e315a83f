{#- The grain of a table whose key has several columns (site_id + subject_id, ...). dbt's
    built-in `unique` takes one column and no package may be installed (offline). -#}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
