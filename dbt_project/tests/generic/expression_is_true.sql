{#- A row-level rule that must hold for every row (e.g. n <= denominator). -#}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
