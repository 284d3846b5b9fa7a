-- Contract invariant (severity error: our own computation, whatever the vendor sent): no
-- duration of a conversation is negative. A duration that comes out negative is null
-- (docs/contract.md §9 "Impossible times"); leg dates that contradict each other are data quality
-- (assert_conversation_times_in_order and assert_call_leg_times_in_order, warnings).
{{ config(severity='error') }}

select *
from {{ ref('fct_conversations') }}
where
    time_to_answer_ms < 0
    or wait_ms < 0
    or queue_ms < 0
    or hold_ms < 0
    or talk_ms < 0
    or acw_ms < 0
    or handle_ms < 0
