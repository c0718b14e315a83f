{#- The models incremental by site: fct_lab_result, patient_month, safety_signal,
    int_subjects_unioned, int_lab_baselines_selected, int_subject_tests_graded,
    int_platelet_samples_classified, int_platelet_days_classified, and the rows of ADLB,
    ADBLEED and ADRS (int_lab_results_analysed, int_bleeding_assessments_analysed,
    int_platelet_responses_analysed; the adam views show them through rows_without_build_key).
    A load derives again only the rows of the sites whose int_sites_keyed.build_key changed
    (that model says why this is exact) and keeps every other site's rows. Each such model is
    configured

        materialized='incremental', incremental_strategy='append', on_schema_change='fail',
        pre_hook="{{ delete_changed_sites(this) }}"

    filters its imports with `where {{ in_sites(site_list) }}`, site_list being
    sites_to_derive(this), and carries its site's build_key in a build_key column. -#}

{% macro sites_to_derive(relation) -%}
    {#- The sites to derive, as a constant SQL list ('A', 'B'; 'null' for none), or none for
        a whole build (first build, --full-refresh). Sites whose current key is not among the
        keys of `relation`'s rows. Constants, not a join: only a constant filter on site_id
        reaches the lab rows' scan through the views (measured: a join or a subquery on the
        keys read every site's rows). A site with no row in `relation` (none of its subjects
        has such a record) is derived on every load, finding nothing again. -#}
    {#- A unit test of the model builds it whole from its fixtures (is_incremental() is
        true there once the model's table exists, but int_sites_keyed is no fixture). -#}
    {%- if not (execute and model.resource_type != 'unit_test' and is_incremental()) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = run_query(
        "select site_id from " ~ ref('int_sites_keyed')
        ~ " where build_key not in (select distinct build_key from " ~ relation ~ ")"
        ~ " order by site_id") -%}
    {%- set quoted = [] -%}
    {%- for site_id in changed.columns[0].values() -%}
        {%- do quoted.append("'" ~ site_id ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ') if quoted else 'null') }}
{%- endmacro %}


{% macro in_sites(site_list, column='site_id') -%}
    {#- The import filter of a model incremental by site: the sites to derive, or every row
        (site_list none: a whole build). -#}
    {%- if site_list is none -%}
        true
    {%- else -%}
        {{ column }} in ({{ site_list }})
    {%- endif -%}
{%- endmacro %}


{% macro delete_changed_sites(relation) -%}
    {#- Pre-hook: before an incremental build, the rows of every site whose key is no longer
        current (changed, or the site has no current rows any more) go. -#}
    {%- if is_incremental() -%}
        delete from {{ relation }} where build_key not in (select build_key from {{ ref('int_sites_keyed') }})
    {%- endif -%}
{%- endmacro %}


{% macro rows_without_build_key(relation) -%}
    {#- The body of an adam view over a model incremental by site: its rows without the build
        key, as the XPT file holds them. The source is named without its catalog: a published
        version is opened under its own file name (versions/<load>.duckdb, attached as
        anything), where a view bound to "warehouse" would not resolve. Under its contract, dbt
        checks the view's columns before it creates it, so the view's model also sets
        `use_own_catalog` (macros/portability.sql) as its sql_header. -#}
    select {{ star_except(relation, ['build_key']) }}
    from {{ relation.include(database=False) }}
{%- endmacro %}


{% macro rebuilt_sites() -%}
    {#- The query of the sites this build derives again (int_sites_keyed.is_rebuilt): what the
        tests of the tables incremental by site read (get_where_subquery's placeholder,
        unique_combination's rebuilt_sites_of). The relation comes from the graph, not ref():
        dbt records a test's dependencies at parse time, before `where` is rendered, and every
        tested model is downstream of int_sites_keyed anyway. -#}
    {%- if not execute -%}
        {{ return('select site_id from int_sites_keyed where is_rebuilt') }}  {#- parsing: nothing runs -#}
    {%- endif -%}
    {%- set keyed = graph.nodes.values() | selectattr('name', 'equalto', 'int_sites_keyed') | first -%}
    {%- set sites = api.Relation.create(database=keyed.database, schema=keyed.schema, identifier=keyed.alias) -%}
    select site_id from {{ sites }} where is_rebuilt
{%- endmacro %}


{% macro get_where_subquery(relation) -%}
    {#- dbt's own (global_project where_subquery.sql), plus one placeholder a test's `where`
        may hold: __rebuilt_sites__ becomes the sites this build derives again
        (int_sites_keyed.is_rebuilt), so `where: "site_id in (__rebuilt_sites__)"` tests only
        their rows. dbt renders `where` from yml without the project's macros, hence the
        placeholder (dbt's documented way to template it). Used only on error-severity tests
        of models incremental by site: every other site's rows are kept as they were in the
        published warehouse, which passed the same test (an error blocks publication, and a
        load starts from a copy of the published file). A warning would not be reported again
        on a kept site, so warn-severity tests read every row. A whole build (first build,
        --full-refresh) marks every site rebuilt: every row is tested. -#}
    {%- set where = config.get('where') or '' -%}
    {%- if '__rebuilt_sites__' in where -%}
        {%- set where = where | replace('__rebuilt_sites__', rebuilt_sites()) -%}
    {%- endif -%}
    {%- if where -%}
        {{ return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') }}
    {%- else -%}
        {{ return(relation) }}
    {%- endif -%}
{%- endmacro %}
