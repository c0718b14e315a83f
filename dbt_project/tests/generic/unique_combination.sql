{#- The grain of a table whose key has several columns (site_id + subject_id, ...). dbt's
    built-in `unique` takes one column and no package may be installed (offline).

    rebuilt_sites_of (a site column) is for the tables incremental by site: the test then
    reads only the rows that share their first key column's value with a row of a site this
    build derives again (macro rebuilt_sites). Every other row is kept as it was in the
    published warehouse, which passed this test (an error-severity test blocks publication,
    and each load starts from a copy of the published file), and two kept rows cannot collide
    anew; a row that collides with a derived one shares its first key column, so it is read.
    A whole build (first build, --full-refresh) reads every row. -#}
{% test unique_combination(model, columns, rebuilt_sites_of=none) %}
with checked as (

    select * from {{ model }}
    {%- if rebuilt_sites_of %}
    where {{ columns[0] }} in (
        select {{ columns[0] }} from {{ model }}
        where {{ rebuilt_sites_of }} in ({{ rebuilt_sites() }})
    )
    {%- endif %}

)

select {{ columns | join(', ') }}, count(*) as n_rows
from checked
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
