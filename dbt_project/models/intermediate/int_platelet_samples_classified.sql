{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- IWG response of every post-baseline PLT sample (endpoints.md §2-§4): study days >= 2 up
    to the cutoff, against the subject's baseline PLT. A sample is "with bleeding" when an
    assessment of WHO grade >= 1 lies within bleeding_window_days before or after it. No
    baseline = no response category (the subject is NE).
    A value sent with a qualifier responds only where every value it allows would (the rule of
    endpoints.md §6 v1.1 for flags and grades, applied to response; docs/decisions.md): `<x` is
    never a response (it allows values down to 0); `>x` compares as x, since every value it
    allows is above x; a `<x` baseline compares as x (2·b is then below 2x), and a `>x`
    baseline allows no certain R (2·b has no upper bound). Anything not certain is NR: a
    response is never claimed on a value the laboratory could not measure.
    Incremental by site (macro sites_to_derive): every input is the sample's own subject's. -#}

{%- set site_list = sites_to_derive(this) %}

with

lab_results as (

    select * from {{ ref('int_lab_results_timed') }}
    where {{ in_sites(site_list) }}

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}
    where {{ in_sites(site_list) }}

),

bleeding_assessments as (

    select * from {{ ref('int_bleeding_assessments_timed') }}
    where {{ in_sites(site_list) }}

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

platelet_samples as (

    select *
    from lab_results
    where test_code = 'PLT'
      and is_post_baseline

),

bleedings as (

    select *
    from bleeding_assessments
    where is_bleeding
      and not is_after_cutoff

),

-- Range join on the subject and a date window: never samples x all assessments.
nearby_bleedings as (

    select
        platelet_samples.source_sha256,
        platelet_samples.source_row,
        max(bleedings.who_grade) as max_who_grade_nearby

    from platelet_samples
    inner join bleedings
        on platelet_samples.site_id = bleedings.site_id
        and platelet_samples.subject_id = bleedings.subject_id
        and bleedings.assessment_date >= {{ add_days('platelet_samples.sample_date', -var('bleeding_window_days')) }}
        and bleedings.assessment_date <= {{ add_days('platelet_samples.sample_date', var('bleeding_window_days')) }}
    group by platelet_samples.source_sha256, platelet_samples.source_row

),

with_context as (

    select
        platelet_samples.site_id,
        platelet_samples.subject_id,
        platelet_samples.sample_date,
        platelet_samples.study_day,
        platelet_samples.treatment_month,
        platelet_samples.value as plt,
        platelet_samples.value_qualifier as plt_qualifier,
        baselines.baseline_value as baseline_plt,
        baselines.baseline_value_qualifier as baseline_plt_qualifier,
        nearby_bleedings.max_who_grade_nearby,
        nearby_bleedings.source_row is not null as is_with_bleeding,
        platelet_samples.source_file,
        platelet_samples.source_sha256,
        platelet_samples.source_row

    from platelet_samples
    left join baselines
        on platelet_samples.site_id = baselines.site_id
        and platelet_samples.subject_id = baselines.subject_id
        and baselines.test_code = 'PLT'
    left join nearby_bleedings
        on platelet_samples.source_sha256 = nearby_bleedings.source_sha256
        and platelet_samples.source_row = nearby_bleedings.source_row

),

classified as (

    select
        with_context.*,
        case
            when with_context.baseline_plt is null then null
            when with_context.is_with_bleeding then 'NR'
            when with_context.plt_qualifier = '<' then 'NR'
            when with_context.plt >= {{ var('cr_min_plt') }} then 'CR'
            when with_context.plt >= {{ var('r_min_plt') }}
                and with_context.plt >= {{ var('r_min_fold') }} * with_context.baseline_plt
                and with_context.baseline_plt_qualifier is distinct from '>' then 'R'
            else 'NR'
        end as response

    from with_context

),

final as (

    select
        classified.*,
        {{ response_rank('classified.response') }} as response_rank,
        site_keys.build_key

    from classified
    inner join site_keys
        on classified.site_id = site_keys.site_id

)

select * from final
