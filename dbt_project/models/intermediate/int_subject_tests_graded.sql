{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- Worst CTCAE grade of every subject and graded test over its post-baseline lab rows (the
    lab safety endpoints of endpoints.md §7, counted in int_endpoints_counted). A `<x`/`>x`
    value allows a range of grades (ctcae_grade_min .. ctcae_grade_max, §6 v1.1): the
    subject's worst grade is at least the highest min and at most the highest max.
    Incremental by site (macro sites_to_derive): a subject's grades are its own rows' of
    fct_lab_result, itself incremental by site, so a nightly delta groups the changed sites'
    rows only, not the registry's tens of millions. -#}
{%- set site_list = sites_to_derive(this) %}

with

lab_results as (

    select * from {{ ref('fct_lab_result') }}
    where {{ in_sites(site_list) }}
      and is_post_baseline

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

worst_grades as (

    select
        site_id,
        subject_id,
        test_code,
        max(ctcae_grade_min) as worst_grade_certain,
        max(ctcae_grade_max) as worst_grade_possible

    from lab_results
    group by site_id, subject_id, test_code

),

final as (

    select
        worst_grades.site_id,
        worst_grades.subject_id,
        worst_grades.test_code,
        worst_grades.worst_grade_certain,
        worst_grades.worst_grade_possible,
        site_keys.build_key

    from worst_grades
    inner join site_keys
        on worst_grades.site_id = site_keys.site_id

)

select * from final
