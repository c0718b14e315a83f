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


{% macro current_subject_keys() -%}
    {#- (site_id, subject_id) of every subject in its site's current subjects snapshot. A row of
        another domain whose subject is not among them is an orphan (site-exports.md §2, v1.2):
        it stays in raw and is left out of every model from staging on; the loader opens a site
        query for it (quality.site_queries), which resolves when the subject appears. -#}
    select distinct subjects.site_id, subjects.subject_id
    from ({{ current_rows('subjects') }}) as subjects
{%- endmacro %}


{% macro current_rows(domain, with_orphans=false) -%}
    {#- The rows of `domain` that staging reads, the one definition every staging model uses:
        rows of their site's current snapshot of the domain (current_snapshot_files) and, for
        every domain but the subjects themselves, of a subject in the current subjects
        snapshot (current_subject_keys: orphans stay out). with_orphans: every row of the
        current snapshot (int_sites_keyed). -#}
    select exported.*
    from {{ source('site_exports', domain) }} as exported
    inner join ({{ current_snapshot_files(domain) }}) as current_files
        on exported.source_sha256 = current_files.sha256
        and exported.site_id = current_files.site_id
    {%- if domain != 'subjects' and not with_orphans %}
    inner join ({{ current_subject_keys() }}) as known_subjects
        on exported.site_id = known_subjects.site_id
        and exported.subject_id = known_subjects.subject_id
    {%- endif %}
{%- endmacro %}


{% macro site_export_domains() -%}
    {#- The export domains (site-exports.md §3): the tables of source `site_exports`, so the
        list lives once, in the sources file (itself written after sources/domains.py). -#}
    {%- set domains = [] -%}
    {%- if not execute -%}
        {{ return(['subjects']) }}  {#- parsing: the graph is not there yet, and nothing runs -#}
    {%- endif -%}
    {%- for node in graph.sources.values() if node.source_name == 'site_exports' -%}
        {%- do domains.append(node.name) -%}
    {%- endfor -%}
    {{ return(domains | sort) }}
{%- endmacro %}
