-- One row per offer to a call center, department or office (an entry_point leg), every
-- provider: docs/contract.md §6 `fct_call_center_offers`, with the business-hours variants of its waits.
-- Incremental: the offers of the recomputed conversations; an offer stored under a
-- conversation id that merged away, or a leg that is no longer an entry point, is deleted.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'offer_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
) }}

with offers as (

    {{ rebuild_scope(ref('int_call_center_offers'), 'int_conversations_to_rebuild') }}

),

business_times as (

    {{ rebuild_scope(ref('int_call_center_offer_business_times'), 'int_legs_to_rebuild', key='provider, offer_id') }}

),

final as (

    select
        offers.provider,
        offers.offer_id,
        offers.conversation_id,
        offers.call_center_id,
        offers.call_center_name,
        offers.call_center_type,
        offers.offered_at,
        offers.wait_start_at,
        offers.queued_at,
        offers.answered_at,
        offers.answering_leg_id,
        offers.answering_agent_id,
        offers.speed_to_answer_ms,
        offers.wait_ms,
        offers.queue_ms,
        offers.rung_agent_count,
        offers.offer_outcome,
        offers.voicemail_at,
        offers.ended_at,
        offers.is_handled,
        offers.is_transferred,
        offers.talk_ms,
        offers.hold_ms,
        offers.acw_ms,
        offers.handle_ms,
        business_times.has_business_hours,
        business_times.is_offered_in_hours,
        business_times.time_to_answer_business_ms,
        business_times.wait_business_ms
    from offers
    left join business_times
        on offers.provider = business_times.provider
        and offers.offer_id = business_times.offer_id

)

select * from final
