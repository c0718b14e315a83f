{% macro current_snapshot_files(domain) -%}
    {#- The files that are the current snapshot of their site and domain: a later cumulative
        export replaces an earlier one (site-exports.md §1), so staging reads only these. -#}
    select distinct sha256
    from {{ source('quality', 'file_manifest') }}
    where is_current and domain = '{{ domain }}'
{%- endmacro %}


{% macro normalized_drug_name(drug_name) -%}
    {#- "The same drug" compares names as written by the site, case-insensitive and trimmed. -#}
    lower(trim({{ drug_name }}))
{%- endmacro %}
