-- Provider-neutral: for each answered offer (an entry point leg), when it was answered and by
-- which leg. Candidates are the connected operator legs of the entry point (the legs it
-- names as operator, or that operate it by rule 3) and the entry point itself when its own
-- [connected_at, ended_at] is an answer interval (it connected and names an operator).
-- answered_at is the earliest connected_at of them all; the answering leg is the
-- earliest-connected operator leg (ties: the smaller id), else the entry point (its operator
-- leg's events never arrived), so an entry point connecting a moment before its operator
-- still names the agent who answered.
-- Incremental: the offers among the legs of the recomputed conversations (int_legs_to_rebuild;
-- an offer and its operator legs are in one conversation).

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

offers as (

    select
        provider,
        leg_id as offer_id
    from legs
    where leg_role = 'entry_point'

),

operator_candidates as (

    select
        legs.provider,
        legs.operated_entry_point_leg_id as offer_id,
        legs.leg_id,
        legs.leg_sort_key,
        1 as answer_priority,
        legs.connected_at,
        legs.ended_at,
        legs.is_transferred,
        legs.is_agent_leg,
        legs.agent_id,
        legs.talk_ms,
        legs.hold_ms,
        legs.acw_ms
    from legs
    inner join offers
        on legs.provider = offers.provider
        and legs.operated_entry_point_leg_id = offers.offer_id
    where
        legs.leg_role = 'operator'
        and legs.connected_at is not null

),

entry_point_candidates as (

    select
        provider,
        leg_id as offer_id,
        leg_id,
        leg_sort_key,
        2 as answer_priority,
        connected_at,
        ended_at,
        is_transferred,
        is_agent_leg,
        agent_id,
        talk_ms,
        hold_ms,
        acw_ms
    from legs
    where
        leg_role = 'entry_point'
        and is_answer_leg

),

candidates as (

    select * from operator_candidates
    union all
    select * from entry_point_candidates

),

ranked_candidates as (

    select
        candidates.*,
        min(connected_at) over (partition by provider, offer_id) as answered_at,
        row_number() over (
            partition by provider, offer_id
            order by answer_priority, connected_at, leg_sort_key
        ) as answer_rank
    from candidates

),

final as (

    select
        provider,
        offer_id,
        answered_at,
        leg_id as answering_leg_id,
        agent_id as answering_agent_id,
        ended_at as answering_leg_ended_at,
        is_transferred as is_answering_leg_transferred,
        -- an agent leg carries its own talk and hold; a leg that is no agent leg (an entry
        -- point whose operator never arrived) talked for its whole answer interval, hold unknown
        -- (null when that interval ends before it starts: docs/contract.md §9 "Impossible times")
        case
            when is_agent_leg then talk_ms
            else {{ nonnegative_ms_between('connected_at', 'ended_at') }}
        end as talk_ms,
        coalesce(not is_agent_leg and ended_at < connected_at, false) as is_talk_negative,
        case when is_agent_leg then hold_ms end as hold_ms,
        -- after-call work is an agent's (docs/contract.md §11): null for a leg that is no agent leg
        case when is_agent_leg then acw_ms end as acw_ms
    from ranked_candidates
    where answer_rank = 1

)

select * from final
