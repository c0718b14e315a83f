with

subjects as (

    select * from {{ ref('int_subjects_unioned') }}

),

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}
    where test_code = 'PLT'

),

dispositions as (

    select * from {{ ref('int_subjects_dispositioned') }}

),

final as (

    select
        ---------- ids
        subjects.site_id,
        subjects.subject_id,

        ---------- demographics
        subjects.sex,
        subjects.birth_year,
        -- only the birth year is collected: age = Day-1 year - birth year
        cast(extract(year from subjects_dosed.day1_date) - subjects.birth_year as {{ dbt.type_bigint() }}) as age_at_day1,
        subjects.diagnosis_date,
        subjects.enrollment_date,

        ---------- treatment
        subjects_dosed.day1_date,
        coalesce(subjects_dosed.is_treated, false) as is_treated,
        baselines.baseline_value as baseline_plt,
        baselines.baseline_date as baseline_plt_date,
        case when subjects_dosed.is_treated then subjects_dosed.exposure_days end as exposure_days,
        case when subjects_dosed.is_treated then subjects_dosed.exposure_end_date end as exposure_end_date,
        subjects_dosed.is_dosing_ongoing,

        ---------- disposition
        dispositions.current_status,
        dispositions.current_status_date,
        dispositions.withdrawal_reason,

        ---------- provenance
        subjects.is_in_subjects_export,
        subjects.source_file,
        subjects.source_row

    from subjects
    left join subjects_dosed
        on subjects.site_id = subjects_dosed.site_id
        and subjects.subject_id = subjects_dosed.subject_id
    left join baselines
        on subjects.site_id = baselines.site_id
        and subjects.subject_id = baselines.subject_id
    left join dispositions
        on subjects.site_id = dispositions.site_id
        and subjects.subject_id = dispositions.subject_id

)

select * from final
