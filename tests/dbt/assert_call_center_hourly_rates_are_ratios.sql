-- Contract invariant: every rate is a DOUBLE in [0, 1], equal to its shipped numerator over
-- its shipped denominator (null exactly when the denominator is 0), so rows roll up.
{{ config(severity='error') }}

with hourly as (

    select * from {{ ref('agg_call_center_hourly') }}

),

checks as (

    select
        provider,
        hour_start_at,
        call_center_id,
        service_level,
        cast(answered_within_sl_count as double) / nullif(service_level_base_count, 0) as expected_service_level,
        abandonment_rate,
        cast(abandoned_count - short_abandoned_count as double) / nullif(service_level_base_count, 0) as expected_abandonment_rate,
        transfer_rate,
        cast(transferred_count as double) / nullif(handled_count, 0) as expected_transfer_rate,
        service_level_in_hours,
        cast(answered_within_sl_in_hours_count as double) / nullif(service_level_in_hours_base_count, 0) as expected_service_level_in_hours
    from hourly

)

select *
from checks
where
    service_level < 0 or service_level > 1
    or abandonment_rate < 0 or abandonment_rate > 1
    or transfer_rate < 0 or transfer_rate > 1
    or service_level_in_hours < 0 or service_level_in_hours > 1
    or coalesce(service_level, -1) <> coalesce(expected_service_level, -1)
    or coalesce(abandonment_rate, -1) <> coalesce(expected_abandonment_rate, -1)
    or coalesce(transfer_rate, -1) <> coalesce(expected_transfer_rate, -1)
    or coalesce(service_level_in_hours, -1) <> coalesce(expected_service_level_in_hours, -1)
