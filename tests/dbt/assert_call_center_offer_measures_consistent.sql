-- Contract invariant (severity error: our own computation, whatever the vendor sent): an
-- offer's measures agree with its outcome. Answered offers have an answering leg; unanswered
-- ones have none. speed_to_answer_ms is set exactly when the offer was answered at or after
-- its wait start, and then equals its wait; a wait or speed to answer that came out negative
-- is null (docs/contract.md §9 "Impossible times"), never negative: vendor clocks that make it so are
-- data quality (assert_call_center_offer_times_in_order, a warn). In-progress offers have not
-- ended; handled offers are answered, with handle = talk + hold + after-call work, the last
-- never negative, and only where the answering leg ended; business-hours waits are null
-- exactly when the elapsed ones are and never exceed them.
{{ config(severity='error') }}

with offers as (

    select * from {{ ref('fct_call_center_offers') }}

)

select *
from offers
where
    (offer_outcome = 'answered') <> (answered_at is not null)
    or (answered_at is not null) <> (answering_leg_id is not null)
    or (speed_to_answer_ms is not null) <> coalesce(answered_at >= wait_start_at, false)
    or (offer_outcome = 'answered' and coalesce(wait_ms, -1) <> coalesce(speed_to_answer_ms, -1))
    or speed_to_answer_ms < 0
    or wait_ms < 0
    or (offer_outcome = 'in_progress' and ended_at is not null)
    or (
        offer_outcome not in ('answered', 'in_progress')
        and (wait_ms is not null) <> coalesce(coalesce(voicemail_at, ended_at) >= wait_start_at, false)
    )
    or (is_handled and offer_outcome <> 'answered')
    or (is_handled and coalesce(handle_ms, -1) <> coalesce(talk_ms + coalesce(hold_ms, 0) + coalesce(acw_ms, 0), -1))
    or acw_ms < 0
    or (acw_ms is not null and not is_handled)
    or talk_ms < 0
    or hold_ms < 0
    or (is_transferred and not is_handled)
    or (offer_outcome = 'abandoned' and rung_agent_count is null)
    or (time_to_answer_business_ms is null) <> (speed_to_answer_ms is null)
    or (wait_business_ms is null) <> (wait_ms is null)
    or time_to_answer_business_ms > speed_to_answer_ms
    or time_to_answer_business_ms < 0
    or wait_business_ms > wait_ms
    or wait_business_ms < 0
    or (not has_business_hours and not is_offered_in_hours)
