with

subjects_dosed as (

    select * from {{ ref('int_subjects_dosed') }}
    where is_treated

),

baselines as (

    select * from {{ ref('int_lab_baselines_selected') }}
    where test_code = 'PLT'

),

platelet_samples as (

    select * from {{ ref('int_platelet_samples_classified') }}
    where response_rank is not null

),

platelet_days as (

    select * from {{ ref('int_platelet_days_classified') }}

),

window_samples as (

    select *
    from platelet_samples
    where {{ in_initial_response_window('study_day') }}

),

best_responses as (

    select
        site_id,
        subject_id,
        max(response_rank) as best_rank

    from window_samples
    group by site_id, subject_id

),

first_best_samples as (

    {{ first_assessment_reaching('best_responses', 'window_samples',
        'window_samples.response_rank = best_responses.best_rank', carried=['best_rank']) }}

),

-- The first loss of response after the qualifying sample bounds its confirmation.
next_losses as (

    {{ first_loss_after('first_best_samples', 'sample_date') }}

),

confirmations as (

    select
        first_best_samples.site_id,
        first_best_samples.subject_id,
        min(platelet_samples.sample_date) as confirmation_date

    from first_best_samples
    left join next_losses
        on first_best_samples.site_id = next_losses.site_id
        and first_best_samples.subject_id = next_losses.subject_id
    inner join platelet_samples
        on first_best_samples.site_id = platelet_samples.site_id
        and first_best_samples.subject_id = platelet_samples.subject_id
        and platelet_samples.response_rank >= first_best_samples.best_rank
        and platelet_samples.sample_date >= {{ add_days('first_best_samples.sample_date', var('confirm_min_days')) }}
        and (next_losses.loss_date is null or platelet_samples.sample_date < next_losses.loss_date)
    where first_best_samples.best_rank >= 2
    group by first_best_samples.site_id, first_best_samples.subject_id

),

final as (

    select
        subjects_dosed.site_id,
        subjects_dosed.subject_id,
        subjects_dosed.day1_date,
        baselines.baseline_value as baseline_plt,
        case
            when baselines.baseline_value is null or first_best_samples.best_rank is null then 'NE'
            else {{ response_category('first_best_samples.best_rank') }}
        end as best_response,
        case when first_best_samples.best_rank >= 2 then first_best_samples.study_day end as response_day,
        case when first_best_samples.best_rank >= 2 then first_best_samples.sample_date end as response_date,
        case
            when first_best_samples.best_rank >= 2 then confirmations.confirmation_date is not null
        end as confirmed,
        confirmations.confirmation_date

    from subjects_dosed
    left join baselines
        on subjects_dosed.site_id = baselines.site_id
        and subjects_dosed.subject_id = baselines.subject_id
    left join first_best_samples
        on subjects_dosed.site_id = first_best_samples.site_id
        and subjects_dosed.subject_id = first_best_samples.subject_id
    left join confirmations
        on subjects_dosed.site_id = confirmations.site_id
        and subjects_dosed.subject_id = confirmations.subject_id

)

select * from final
