{#- Composite-key `relationships`: every row's key exists in `to`. `columns` name the key in
    both tables (the project uses the same names everywhere). -#}
{% test has_parent(model, columns, to) %}
with child as (

    select * from {{ model }}   {#- a relation, or a `where` config's aliased subquery #}

)

select child.*
from child
left join {{ to }} as parent
    on {% for c in columns %}child.{{ c }} = parent.{{ c }}{% if not loop.last %} and {% endif %}{% endfor %}
where {% for c in columns %}child.{{ c }} is not null{% if not loop.last %} and {% endif %}{% endfor %}
  and parent.{{ columns[0] }} is null
{% endtest %}
