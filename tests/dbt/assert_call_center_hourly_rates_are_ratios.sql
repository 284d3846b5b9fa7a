-- Contract invariant: every rate is a DOUBLE in [0, 1], and every rate and average equals its
-- shipped numerator over its shipped denominator (null exactly when the denominator is 0), so
-- rows roll up. An average's denominator counts the terms its numerator summed (a duration
-- that came out negative is null and in neither: docs/contract.md §9 "Impossible times"), within the
-- offers it averages over.
-- Severity error: our own arithmetic; no vendor data can break it.
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
        cast(abandoned_count - short_abandoned_count as double)
            / nullif(service_level_base_count, 0) as expected_abandonment_rate,
        transfer_rate,
        cast(transferred_count as double) / nullif(handled_count, 0) as expected_transfer_rate,
        service_level_in_hours,
        cast(answered_within_sl_in_hours_count as double)
            / nullif(service_level_in_hours_base_count, 0) as expected_service_level_in_hours,
        asa_ms,
        cast(speed_to_answer_ms_sum as double) / nullif(speed_to_answer_known_count, 0) as expected_asa_ms,
        aht_ms,
        cast(handle_ms as double) / nullif(handle_known_count, 0) as expected_aht_ms,
        speed_to_answer_known_count > answered_count
            or handle_known_count > handled_count
            or wait_known_count > finished_count
            or (speed_to_answer_known_count = 0) <> (speed_to_answer_ms_sum is null)
            or (handle_known_count = 0) <> (handle_ms is null)
            or (wait_known_count = 0) <> (wait_ms_sum is null)
            as has_bad_denominator
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
    or coalesce(asa_ms, -1) <> coalesce(expected_asa_ms, -1)
    or coalesce(aht_ms, -1) <> coalesce(expected_aht_ms, -1)
    or has_bad_denominator
