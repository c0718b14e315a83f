{#- The lab models incremental by site (fct_lab_result, int_lab_results_analysed): a load
    derives again only the rows of the sites whose int_lab_sites_keyed.build_key changed
    (that model says why this is exact) and keeps every other site's rows. -#}

{% macro lab_sites_to_derive(relation, kept_rows='true') -%}
    {#- The sites to derive, as a constant SQL list ('A', 'B'; 'null' for none), or none for
        a whole build (first build, --full-refresh). Sites whose current key is not among the
        keys of `relation`'s kept rows (kept_rows: a SQL condition on them). Constants, not a
        join: only a constant filter on site_id reaches the lab rows' scan through the views
        (measured: a join or a subquery on the keys read every site's rows). -#}
    {%- if not (is_incremental() and execute) -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set changed = run_query(
        "select site_id from " ~ ref('int_lab_sites_keyed')
        ~ " where build_key not in (select distinct build_key from " ~ relation ~ " where " ~ kept_rows ~ ")"
        ~ " order by site_id") -%}
    {%- set quoted = [] -%}
    {%- for site_id in changed.columns[0].values() -%}
        {%- do quoted.append("'" ~ site_id ~ "'") -%}
    {%- endfor -%}
    {{ return(quoted | join(', ') if quoted else 'null') }}
{%- endmacro %}
