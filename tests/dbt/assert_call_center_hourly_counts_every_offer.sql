-- Contract invariant: every offer with an offered_at is counted in exactly one hour, and the
-- hourly sums equal the offers' own (no offer lost or double-counted by the hour bucketing).
-- Severity error: our own bucketing; no vendor data can lose or double-count an offer.
{{ config(severity='error') }}

with offers as (

    select
        provider,
        call_center_id,
        count(*) as offered_count,
        sum(case when offer_outcome = 'answered' then 1 else 0 end) as answered_count,
        sum(case when is_handled then 1 else 0 end) as handled_count,
        coalesce(sum(case when offer_outcome = 'answered' then speed_to_answer_ms end), 0) as speed_to_answer_ms_sum
    from {{ ref('fct_call_center_offers') }}
    where offered_at is not null
    group by provider, call_center_id

),

hourly as (

    select
        provider,
        call_center_id,
        sum(offered_count) as offered_count,
        sum(answered_count) as answered_count,
        sum(handled_count) as handled_count,
        coalesce(sum(speed_to_answer_ms_sum), 0) as speed_to_answer_ms_sum
    from {{ ref('agg_call_center_hourly') }}
    group by provider, call_center_id

)

select
    offers.provider,
    offers.call_center_id,
    offers.offered_count,
    hourly.offered_count as hourly_offered_count
from offers
left join hourly
    on offers.provider = hourly.provider
    and coalesce(offers.call_center_id, '') = coalesce(hourly.call_center_id, '')
where
    hourly.offered_count is null
    or offers.offered_count <> hourly.offered_count
    or offers.answered_count <> hourly.answered_count
    or offers.handled_count <> hourly.handled_count
    or offers.speed_to_answer_ms_sum <> hourly.speed_to_answer_ms_sum
