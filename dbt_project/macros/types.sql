{% macro type_double() -%}
    {#- dbt.type_float() is a 4-byte FLOAT on DuckDB: 0.8 would become 0.800000011920929 and
        a CTCAE boundary would flip. DOUBLE PRECISION is standard SQL (DuckDB and PostgreSQL). -#}
    double precision
{%- endmacro %}
