{#- Concomitant medication periods in study time, with baseline use (endpoints.md §5): a
    period of an ITP class (reference.drug_classes) active on Day 1 (start <= Day 1 and end
    empty or >= Day 1). A "baseline drug" is a drug (case-insensitive trimmed name) with a
    baseline use; all its periods are followed, because a dose change is a new period. -#}

with

conmed_periods as (

    select * from {{ ref('stg_site_exports__conmed_periods') }}

),

drug_classes as (

    select * from {{ ref('drug_classes') }}

),

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}

),

timed as (

    select
        conmed_periods.*,
        {{ normalized_drug_name('conmed_periods.drug_name') }} as drug_key,
        coalesce(drug_classes.is_itp_medication, false) as is_itp_medication,
        subjects_dosed.day1_date,
        {{ study_day('conmed_periods.start_date', 'subjects_dosed.day1_date') }} as start_study_day,
        {{ study_day('conmed_periods.end_date', 'subjects_dosed.day1_date') }} as end_study_day,
        coalesce(
            conmed_periods.start_date <= subjects_dosed.day1_date
            and (conmed_periods.end_date is null or conmed_periods.end_date >= subjects_dosed.day1_date),
            false
        ) as is_active_on_day1

    from conmed_periods
    left join drug_classes
        on conmed_periods.drug_class = drug_classes.drug_class
    left join subjects_dosed
        on conmed_periods.site_id = subjects_dosed.site_id
        and conmed_periods.subject_id = subjects_dosed.subject_id
        and subjects_dosed.is_treated

),

baseline_drugs as (

    select
        site_id,
        subject_id,
        drug_key,
        min(drug_class) as baseline_drug_class

    from timed
    where is_active_on_day1
      and is_itp_medication
    group by site_id, subject_id, drug_key

),

final as (

    select
        timed.*,
        timed.is_active_on_day1 and timed.is_itp_medication as is_baseline_use,
        baseline_drugs.drug_key is not null as is_baseline_drug,
        baseline_drugs.baseline_drug_class

    from timed
    left join baseline_drugs
        on timed.site_id = baseline_drugs.site_id
        and timed.subject_id = baseline_drugs.subject_id
        and timed.drug_key = baseline_drugs.drug_key

)

select * from final
