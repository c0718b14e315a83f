with

platelet_days as (

    select * from {{ ref('int_platelet_days_classified') }}

),

response_starts as (

    select
        site_id,
        subject_id,
        min(sample_date) as start_date

    from platelet_days
    where response_rank >= 2
    group by site_id, subject_id

),

losses as (

    {{ first_loss_after('response_starts', 'start_date') }}

),

last_samples as (

    select
        site_id,
        subject_id,
        max(sample_date) as last_sample_date

    from platelet_days
    group by site_id, subject_id

),

final as (

    select
        response_starts.site_id,
        response_starts.subject_id,
        response_starts.start_date,
        start_days.study_day as start_study_day,
        start_days.response as start_response,
        losses.loss_date,
        last_samples.last_sample_date,
        {{ days_between('response_starts.start_date', 'coalesce(losses.loss_date, last_samples.last_sample_date)') }} as duration_days,
        losses.loss_date is null as censored

    from response_starts
    inner join platelet_days as start_days
        on response_starts.site_id = start_days.site_id
        and response_starts.subject_id = start_days.subject_id
        and response_starts.start_date = start_days.sample_date
    left join losses
        on response_starts.site_id = losses.site_id
        and response_starts.subject_id = losses.subject_id
    left join last_samples
        on response_starts.site_id = last_samples.site_id
        and response_starts.subject_id = last_samples.subject_id

)

select * from final
