-- Provider-neutral: one row per offer to a call center, department or office (an entry_point
-- leg) with its waits and outcome, docs/contract.md §6 `fct_call_center_offers`.
-- Incremental: the offers among the legs of the recomputed conversations.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'offer_id'],
    rebuild_set={
        'key': 'provider, offer_id', 'keys_model': 'int_legs_to_rebuild', 'keys_columns': 'provider, leg_id',
    },
) }}

with legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_legs_to_rebuild') }}

),

leg_states as (

    {{ rebuild_scope(ref('int_leg_states'), 'int_legs_to_rebuild') }}

),

answers as (

    {{ rebuild_scope(ref('int_call_center_offer_answers'), 'int_legs_to_rebuild', key='provider, offer_id') }}

),

rung_agents as (

    {{ rebuild_scope(ref('int_call_center_offer_rung_agents'), 'int_legs_to_rebuild', key='provider, offer_id') }}

),

offer_legs as (

    select * from legs where leg_role = 'entry_point'

),

state_marks as (

    -- the first `queued` and the first `voicemail` interval of each leg
    select
        provider,
        leg_id,
        min(case when state = 'queued' then entered_at end) as first_queued_event_at,
        min(case when state = 'voicemail' then entered_at end) as voicemail_at
    from leg_states
    where state in ('queued', 'voicemail')
    group by provider, leg_id

),

joined as (

    select
        offer_legs.provider,
        offer_legs.leg_id as offer_id,
        offer_legs.conversation_id,
        offer_legs.target_id as call_center_id,
        offer_legs.target_name as call_center_name,
        offer_legs.target_type as call_center_type,
        offer_legs.started_at as offered_at,
        offer_legs.rang_at,
        offer_legs.queued_at,
        state_marks.first_queued_event_at,
        offer_legs.first_rang_at,
        state_marks.voicemail_at,
        offer_legs.ended_at,
        offer_legs.queue_ms,
        offer_legs.is_transferred as is_offer_transferred,
        offer_legs.has_voicemail,
        answers.answered_at,
        answers.answering_leg_id,
        answers.answering_agent_id,
        answers.answering_leg_ended_at,
        answers.is_answering_leg_transferred,
        answers.talk_ms,
        answers.hold_ms,
        answers.acw_ms,
        coalesce(rung_agents.rung_agent_count, 0) as rung_agent_count
    from offer_legs
    left join state_marks
        on offer_legs.provider = state_marks.provider
        and offer_legs.leg_id = state_marks.leg_id
    left join answers
        on offer_legs.provider = answers.provider
        and offer_legs.leg_id = answers.offer_id
    left join rung_agents
        on offer_legs.provider = rung_agents.provider
        and offer_legs.leg_id = rung_agents.offer_id

),

wait_starts as (

    -- the earliest of date_queued, date_first_rang and the first queued event (each
    -- coalesced with the others so a missing one never wins); else rang_at; else started_at
    select
        joined.*,
        coalesce(
            least(
                coalesce(queued_at, first_queued_event_at, first_rang_at),
                coalesce(first_queued_event_at, first_rang_at, queued_at),
                coalesce(first_rang_at, queued_at, first_queued_event_at)
            ),
            rang_at,
            offered_at
        ) as wait_start_at,
        coalesce(answered_at, voicemail_at, ended_at) as wait_end_at
    from joined

),

final as (

    select
        provider,
        offer_id,
        conversation_id,
        call_center_id,
        call_center_name,
        call_center_type,
        offered_at,
        wait_start_at,
        queued_at,
        answered_at,
        answering_leg_id,
        answering_agent_id,
        -- null (unknown, never negative) when the answer or the wait's end was reported before
        -- the wait started (docs/contract.md §9 "Impossible times")
        {{ nonnegative_ms_between('wait_start_at', 'answered_at') }} as speed_to_answer_ms,
        wait_end_at,
        {{ nonnegative_ms_between('wait_start_at', 'wait_end_at') }} as wait_ms,
        cast(queue_ms as {{ dbt.type_bigint() }}) as queue_ms,
        cast(rung_agent_count as {{ dbt.type_int() }}) as rung_agent_count,
        case
            when answered_at is not null then 'answered'
            when ended_at is null then 'in_progress'
            when has_voicemail then 'voicemail'
            when is_offer_transferred then 'overflow'
            else 'abandoned'
        end as offer_outcome,
        voicemail_at,
        ended_at,
        answered_at is not null and answering_leg_ended_at is not null as is_handled,
        answered_at is not null and answering_leg_ended_at is not null
            and (is_offer_transferred or coalesce(is_answering_leg_transferred, false))
            as is_transferred,
        case when answering_leg_ended_at is not null then cast(talk_ms as {{ dbt.type_bigint() }}) end as talk_ms,
        case when answering_leg_ended_at is not null then cast(hold_ms as {{ dbt.type_bigint() }}) end as hold_ms,
        case when answering_leg_ended_at is not null then cast(acw_ms as {{ dbt.type_bigint() }}) end as acw_ms,
        case
            when answering_leg_ended_at is not null
                then cast(talk_ms + coalesce(hold_ms, 0) + coalesce(acw_ms, 0) as {{ dbt.type_bigint() }})
        end as handle_ms
    from wait_starts

)

select * from final
