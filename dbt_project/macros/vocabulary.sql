{#- The rows of `model` whose `column_name` is not a `field` value of the rows of `to` that
    satisfy `subset` (a seed of the vocabulary: docs/architecture.md, "One vocabulary").
    Compared as text, so an integer column can be checked against a text seed on every
    engine; nulls pass. The generic tests controlled_term and in_reference use it. -#}
{% macro values_not_in_reference(model, column_name, to, field, subset=none) %}
select {{ column_name }} as value_not_in_reference
from {{ model }}
where {{ column_name }} is not null
  and cast({{ column_name }} as {{ dbt.type_string() }}) not in (
    select cast({{ field }} as {{ dbt.type_string() }})
    from {{ to }}
    {% if subset is not none %}where {{ subset }}{% endif %}
  )
{% endmacro %}
