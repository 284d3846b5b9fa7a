-- Contract invariant: in every hour the five outcome counts sum to offered_count, the
-- service-level base is offered - in_progress - short abandons, and every part of a count
-- stays within it (in-hours counts within the counts, within-SL within answered, handled
-- within answered, transferred within handled, short and after-ring abandons within abandons).
-- Severity error: our own aggregation (a contract shape: outcomes sum to offered).
{{ config(severity='error') }}

with hourly as (

    select * from {{ ref('agg_call_center_hourly') }}

)

select *
from hourly
where
    answered_count + abandoned_count + voicemail_count + overflow_count + in_progress_count
        <> offered_count
    or service_level_base_count <> offered_count - in_progress_count - short_abandoned_count
    or finished_count <> offered_count - in_progress_count
    or answered_within_sl_count > answered_count
    or handled_count > answered_count
    or transferred_count > handled_count
    or short_abandoned_count > abandoned_count
    or abandoned_after_ring_count > abandoned_count
    or queued_count > offered_count
    or offered_in_hours_count > offered_count
    or service_level_in_hours_base_count > offered_in_hours_count
    or answered_within_sl_in_hours_count > service_level_in_hours_base_count
