{#- Schemas are named exactly as in the analyst contract (marts, staging, ...), not
    <target>_<custom>: analysts query marts.endpoint_summary. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
