{#- ADSL (adam.md §2): one row per subject of marts.dim_subject, in ADaM's names. -#}

with

subjects as (

    select * from {{ ref('dim_subject') }}

),

baseline_bleeding as (

    select * from {{ ref('patient_month') }}
    where treatment_month = 0

),

final as (

    select
        ---------- identifiers
        {{ study_id() }} as STUDYID,
        {{ usubjid('subjects.site_id', 'subjects.subject_id') }} as USUBJID,
        subjects.subject_id as SUBJID,
        subjects.site_id as SITEID,

        ---------- demographics
        subjects.sex as SEX,
        subjects.age_at_day1 as AGE,
        case when subjects.age_at_day1 is not null then 'YEARS' end as AGEU,

        ---------- treatment
        'IGURATIMOD' as TRT01P,
        case when subjects.is_treated then 'IGURATIMOD' end as TRT01A,
        case when subjects.is_treated then subjects.day1_date end as TRTSDT,
        subjects.exposure_end_date as TRTEDT,
        subjects.exposure_days as TRTDURD,

        ---------- populations and exposure bands
        {{ sas_flag('subjects.is_treated') }} as SAFFL,
        {{ sas_flag('subjects.is_treated and subjects.baseline_plt is not null') }} as FASFL,
        case when subjects.is_treated then {{ sas_flag(in_exposure_band('subjects.exposure_days', '3m')) }} end as EXP3MFL,
        case when subjects.is_treated then {{ sas_flag(in_exposure_band('subjects.exposure_days', '6m')) }} end as EXP6MFL,
        case when subjects.is_treated then {{ sas_flag(in_exposure_band('subjects.exposure_days', '12m')) }} end as EXP12MFL,

        ---------- disposition
        case subjects.current_status
            when 'completed' then 'COMPLETED'
            when 'withdrawn' then 'DISCONTINUED'
            else 'ONGOING'
        end as EOSSTT,
        case when subjects.current_status in ('completed', 'withdrawn') then subjects.current_status_date end as EOSDT,
        case when subjects.current_status = 'withdrawn' then upper(replace(subjects.withdrawal_reason, '_', ' ')) end as DCSREAS,

        ---------- baseline characteristics
        subjects.baseline_plt as BPLT,
        baseline_bleeding.max_who_grade as BBLDGR,
        subjects.diagnosis_date as DIAGDT

    from subjects
    left join baseline_bleeding
        on subjects.site_id = baseline_bleeding.site_id
        and subjects.subject_id = baseline_bleeding.subject_id

)

select * from final
