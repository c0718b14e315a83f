{#- The month -> study-day windows of int_treatment_months_enumerated and the day -> month
    macro treatment_month() are two statements of endpoints.md §1; they must agree at every
    window edge (and the day before each first day belongs to the previous month). -#}
with windows as (
    select * from {{ ref('int_treatment_months_enumerated') }}
)
select *
from windows
where {{ treatment_month('first_study_day') }} <> treatment_month
   or {{ treatment_month('last_study_day') }} <> treatment_month
   or (treatment_month > 1 and {{ treatment_month('first_study_day - 1') }} <> treatment_month - 1)
   or (treatment_month = 1 and {{ treatment_month('first_study_day - 1') }} <> 0)
