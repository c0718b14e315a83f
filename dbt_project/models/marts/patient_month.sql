{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_sites(this) }}"
) }}

{#- A month counts the lab, bleeding and AE records dated in it, up to the data cutoff.
    Incremental by site (macro sites_to_derive): a subject's months are its own records'.
    The study's month windows (int_treatment_months_enumerated) reach as far as any record by
    the cutoff can fall, and a subject's grid stops at its own last month, so the other sites'
    records never change its rows. -#}
{%- set site_list = sites_to_derive(this) %}
{%- set in_a_month_by_the_cutoff = 'treatment_month is not null and not is_after_cutoff' %}

with

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}
    where {{ in_sites(site_list) }}
      and is_treated

),

site_keys as (

    select * from {{ ref('int_sites_keyed') }}

),

treatment_months as (

    select * from {{ ref('int_treatment_months_enumerated') }}

),

lab_results as (

    select * from {{ ref('fct_lab_result') }}
    where {{ in_sites(site_list) }}
      and {{ in_a_month_by_the_cutoff }}

),

platelet_samples as (

    select * from {{ ref('int_platelet_samples_classified') }}
    where {{ in_sites(site_list) }}

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}
    where {{ in_sites(site_list) }}
      and test_code = 'PLT'

),

bleeding_assessments as (

    select * from {{ ref('int_bleeding_assessments_timed') }}
    where {{ in_sites(site_list) }}
      and {{ in_a_month_by_the_cutoff }}

),

adverse_events as (

    select * from {{ ref('int_adverse_events_timed') }}
    where {{ in_sites(site_list) }}
      and {{ in_a_month_by_the_cutoff }}

),

conmed_periods as (

    select * from {{ ref('int_conmed_periods_timed') }}
    where {{ in_sites(site_list) }}
      and is_itp_medication
      and start_date <= {{ cutoff_date() }}

),

---------- the subject x month grid: month 0 .. the last month with a lab, bleeding or AE record

data_months as (

    select site_id, subject_id, treatment_month from lab_results
    union
    select site_id, subject_id, treatment_month from bleeding_assessments
    union
    select site_id, subject_id, treatment_month from adverse_events

),

last_months as (

    select
        site_id,
        subject_id,
        max(treatment_month) as last_treatment_month

    from data_months
    group by site_id, subject_id

),

grid as (

    select
        subjects_dosed.site_id,
        subjects_dosed.subject_id,
        treatment_months.treatment_month,
        treatment_months.first_study_day,
        treatment_months.last_study_day

    from subjects_dosed
    left join last_months
        on subjects_dosed.site_id = last_months.site_id
        and subjects_dosed.subject_id = last_months.subject_id
    inner join treatment_months
        on treatment_months.treatment_month <= coalesce(last_months.last_treatment_month, 0)

),

---------- per month aggregates

lab_months as (

    select
        site_id,
        subject_id,
        treatment_month,
        count(case when test_code = 'PLT' then 1 end) as plt_n,
        min(case when test_code = 'PLT' then value end) as plt_min,
        max(case when test_code = 'PLT' then value end) as plt_max,
        max(ctcae_grade) as worst_lab_grade

    from lab_results
    group by site_id, subject_id, treatment_month

),

ranked_platelets as (

    select
        site_id,
        subject_id,
        treatment_month,
        value as plt_last,
        row_number() over (
            partition by site_id, subject_id, treatment_month
            order by sample_date desc, source_row desc, source_file desc
        ) as recency_rank

    from lab_results
    where test_code = 'PLT'

),

last_platelets as (

    select * from ranked_platelets
    where recency_rank = 1

),

response_months as (

    select
        site_id,
        subject_id,
        treatment_month,
        max(response_rank) as best_rank

    from platelet_samples
    group by site_id, subject_id, treatment_month

),

bleeding_months as (

    select
        site_id,
        subject_id,
        treatment_month,
        max(who_grade) as max_who_grade

    from bleeding_assessments
    group by site_id, subject_id, treatment_month

),

adverse_event_months as (

    select
        site_id,
        subject_id,
        treatment_month,
        count(*) as n_ae,
        max(ctcae_grade) as max_ae_grade

    from adverse_events
    group by site_id, subject_id, treatment_month

),

-- An ITP-class period overlapping the month's study-day window (open end = ongoing).
conmed_months as (

    select distinct
        grid.site_id,
        grid.subject_id,
        grid.treatment_month

    from grid
    inner join conmed_periods
        on grid.site_id = conmed_periods.site_id
        and grid.subject_id = conmed_periods.subject_id
        and conmed_periods.start_study_day <= grid.last_study_day
        and (conmed_periods.end_study_day is null or conmed_periods.end_study_day >= grid.first_study_day)

),

final as (

    select
        grid.site_id,
        grid.subject_id,
        grid.treatment_month,
        grid.first_study_day,
        grid.last_study_day,

        ---------- platelets
        coalesce(lab_months.plt_n, 0) as plt_n,
        lab_months.plt_min,
        lab_months.plt_max,
        last_platelets.plt_last,
        case
            when grid.treatment_month = 0 then null
            when baselines.baseline_value is null or response_months.best_rank is null then 'NE'
            else {{ response_category('response_months.best_rank') }}
        end as best_response,

        ---------- bleeding (null = not assessed in the month)
        bleeding_months.max_who_grade >= 1 as any_bleeding,
        bleeding_months.max_who_grade,

        ---------- concomitant ITP medication
        conmed_months.subject_id is not null as on_itp_conmed,

        ---------- adverse events (by onset)
        coalesce(adverse_event_months.n_ae, 0) as n_ae,
        adverse_event_months.max_ae_grade,

        ---------- lab safety
        lab_months.worst_lab_grade,

        ---------- incremental build
        site_keys.build_key

    from grid
    inner join site_keys
        on grid.site_id = site_keys.site_id
    left join baselines
        on grid.site_id = baselines.site_id
        and grid.subject_id = baselines.subject_id
    {%- for monthly in ['lab_months', 'last_platelets', 'response_months', 'bleeding_months',
                        'adverse_event_months', 'conmed_months'] %}
    left join {{ monthly }}
        on grid.site_id = {{ monthly }}.site_id
        and grid.subject_id = {{ monthly }}.subject_id
        and grid.treatment_month = {{ monthly }}.treatment_month
    {%- endfor %}

)

select * from final
