{#- ADaM's identifiers and shapes (../shared/spec/adam.md §1). ADaM adds no derivation rule:
    these macros only rename or reshape published values. -#}

{% macro study_id() -%}
    {#- STUDYID: a setting of the load (ITP_STUDY_ID, the site registry's study_id, or
        `load --study-id`), recorded in quality.load_log like the cutoff so that dbt's saved
        parse serves every load. Null when the load had none: the adam tables then say so
        (a warn test) and `itp-warehouse adam` writes nothing. Tests give it as --vars. -#}
    {%- set given = var('study_id', none) -%}
    {%- if given -%}
        cast('{{ given }}' as {{ dbt.type_string() }})
    {%- else -%}
        (select {{ arg_max("study_id", "started_at") }} from {{ source('quality', 'load_log') }})
    {%- endif -%}
{%- endmacro %}


{% macro usubjid(site_id, subject_id) -%}
    {#- USUBJID = STUDYID-SITEID-SUBJID (adam.md §1). -#}
    ({{ study_id() }} || '-' || {{ site_id }} || '-' || {{ subject_id }})
{%- endmacro %}


{% macro adam_identifiers(alias) -%}
    {#- The identifier variables every dataset of the package starts with (adam.md §1), from a
        relation with site_id and subject_id. -#}
    {{ study_id() }} as STUDYID,
        {{ usubjid(alias ~ '.site_id', alias ~ '.subject_id') }} as USUBJID,
        {{ alias }}.site_id as SITEID
{%- endmacro %}


{% macro adam_sequence(alias, ordering) -%}
    {#- --SEQ (AESEQ, CMSEQ, ASEQ): a record's number within its subject, in `ordering` (SQL
        order keys of relation `alias`), ties in the order of the site's file and row, so the
        numbers are the same in every load of the same data. -#}
    cast(row_number() over (
            partition by {{ alias }}.site_id, {{ alias }}.subject_id
            order by {{ ordering }}, {{ alias }}.source_file, {{ alias }}.source_row
        ) as {{ dbt.type_int() }})
{%- endmacro %}


{% macro sas_flag(condition) -%}
    {#- ADaM population flags: `Y`/`N`. -#}
    (case when {{ condition }} then 'Y' else 'N' end)
{%- endmacro %}


{% macro analysis_visit(treatment_month) -%}
    {#- AVISIT of a treatment month (endpoints.md §1 windows): `Baseline` (month 0), `Month n`,
        `Unscheduled` outside every window. AVISITN is the month itself. -#}
    (case
        when {{ treatment_month }} = 0 then 'Baseline'
        when {{ treatment_month }} >= 1 then 'Month ' || cast({{ treatment_month }} as {{ dbt.type_string() }})
        else 'Unscheduled'
    end)
{%- endmacro %}


{% macro response_avaln(category) -%}
    {#- ADRS AVAL of a response category: CR 1, R 2, NR 3, NE 4 (adam.md §2). -#}
    (case {{ category }} when 'CR' then 1 when 'R' then 2 when 'NR' then 3 when 'NE' then 4 end)
{%- endmacro %}


{% macro reference_range_indicator(range_flag) -%}
    {#- ANRIND/BNRIND of the mart's range flag: L, N, H -> LOW, NORMAL, HIGH; empty stays
        empty (not determinable, endpoints.md §6 v1.1). -#}
    (case {{ range_flag }} when 'L' then 'LOW' when 'N' then 'NORMAL' when 'H' then 'HIGH' end)
{%- endmacro %}
