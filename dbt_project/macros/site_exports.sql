{% macro current_snapshot_files(domain) -%}
    {#- The files that are the current snapshot of their site and domain: a later cumulative
        export replaces an earlier one (site-exports.md §1), so staging reads only these.
        A snapshot is (site, domain, sha256): two sites may send the same bytes (an empty
        snapshot), so rows join on their site as well as their file's hash. -#}
    select distinct site_id, sha256
    from {{ source('quality', 'file_manifest') }}
    where is_current and domain = '{{ domain }}'
{%- endmacro %}


{% macro normalized_drug_name(drug_name) -%}
    {#- "The same drug" compares names as written by the site, case-insensitive and trimmed. -#}
    lower(trim({{ drug_name }}))
{%- endmacro %}
