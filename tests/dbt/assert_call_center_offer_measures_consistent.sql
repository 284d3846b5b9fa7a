-- Contract invariant: an offer's measures agree with its outcome. Answered offers have an
-- answering leg and a speed to answer equal to their wait; unanswered ones have neither;
-- in-progress offers have not ended; handled offers are answered and have a handle time;
-- business-hours waits never exceed the elapsed ones.
{{ config(severity='error') }}

with offers as (

    select * from {{ ref('fct_call_center_offers') }}

)

select *
from offers
where
    (offer_outcome = 'answered') <> (answered_at is not null)
    or (answered_at is not null) <> (answering_leg_id is not null)
    or (answered_at is not null) <> (speed_to_answer_ms is not null)
    or (offer_outcome = 'answered' and wait_ms <> speed_to_answer_ms)
    or (offer_outcome = 'in_progress' and ended_at is not null)
    or (offer_outcome not in ('answered', 'in_progress') and wait_ms is null)
    or (is_handled and (offer_outcome <> 'answered' or handle_ms is null))
    or (is_transferred and not is_handled)
    or (offer_outcome = 'abandoned' and rung_agent_count is null)
    or time_to_answer_business_ms > speed_to_answer_ms
    or time_to_answer_business_ms < 0
    or wait_business_ms > wait_ms
    or wait_business_ms < 0
    or (not has_business_hours and not is_offered_in_hours)
