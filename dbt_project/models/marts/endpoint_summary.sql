with

endpoint_counts as (

    select * from {{ ref('int_endpoints_counted') }}

),

final as (

    select
        endpoint,
        timepoint,
        n,
        denominator,
        {{ percent('n', 'denominator') }} as pct,
        n_not_determinable

    from endpoint_counts

)

select * from final
