-- MessageBird: every leg with its role, answer and transfer flags and the parties it joins
-- (docs/contract.md §8 "Mapping").
--
-- A call whose first leg (earliest createdAt, ties: the smaller leg id) is incoming is an
-- inbound call: its outgoing legs are agent legs (role `operator`, the agent being the leg's
-- destination number: MessageBird has no user objects), its incoming legs are offers (role
-- `entry_point`; the call center is the call's numberId, else the number dialled). Any other
-- call (first leg outgoing) is an outbound call: its legs are `direct` and carry no agent.
-- A leg is answered when it has an answeredAt and its status is ongoing or hangup. Talk legs
-- (whose answered time is an answer interval and is talk) are the operator legs of inbound
-- calls and every leg of outbound calls. Transfers: the answered operator legs of a call in
-- answeredAt order; each but the last handed the caller on (is_transferred, one transfer
-- point), so transfer points = answered operator legs - 1, never below 0.
-- Incremental: the recomputed calls (a call's roles are decided per call).

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'call_id', 'keys_model': 'int_messagebird__calls_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_messagebird__legs_ended'), 'int_messagebird__calls_to_rebuild') }}

),

ordered as (

    select
        legs.*,
        row_number() over (
            partition by legs.call_id
            order by
                case when legs.created_at is null then 1 else 0 end,
                legs.created_at,
                legs.leg_id
        ) as leg_number
    from legs

),

call_directions as (

    select
        call_id,
        leg_id as first_leg_id,
        source_number as first_leg_source_number,
        destination_number as first_leg_destination_number,
        case direction
            when 'incoming' then 'inbound'
            when 'outgoing' then 'outbound'
        end as call_direction
    from ordered
    where leg_number = 1

),

classified as (

    select
        ordered.*,
        call_directions.call_direction,
        case
            when call_directions.call_direction = 'inbound' and ordered.direction = 'outgoing'
                then 'operator'
            when call_directions.call_direction = 'inbound' and ordered.direction = 'incoming'
                then 'entry_point'
            else 'direct'
        end as leg_role,
        ordered.answered_at is not null and ordered.status in ('ongoing', 'hangup') as is_answered,
        call_directions.first_leg_id,
        call_directions.first_leg_source_number,
        call_directions.first_leg_destination_number
    from ordered
    inner join call_directions
        on ordered.call_id = call_directions.call_id

),

flagged as (

    select
        classified.*,
        classified.leg_role = 'operator' or classified.call_direction = 'outbound' as is_talk_leg,
        classified.leg_role = 'operator' and classified.is_answered as is_answered_operator
    from classified

),

answer_order as (

    select
        flagged.*,
        sum(case when flagged.is_answered_operator then 1 else 0 end) over (
            partition by flagged.call_id
        ) as answered_operator_count,
        case
            when flagged.is_answered_operator then row_number() over (
                partition by flagged.call_id, flagged.is_answered_operator
                order by flagged.answered_at desc, flagged.leg_id desc
            )
        end as answered_operator_rank_from_last
    from flagged

),

final as (

    select
        leg_id,
        call_id,
        leg_number,
        call_direction,
        leg_role,
        status,
        is_final_status,
        direction,
        source_number,
        destination_number,
        cost,
        currency,
        duration_seconds,
        created_at,
        updated_at,
        -- a ringing snapshot is a ring time only where it fits the leg's own times
        case
            when ringing_at >= created_at
                and ringing_at <= coalesce(case when is_answered then answered_at end, ended_at, ringing_at)
                then ringing_at
        end as rang_at,
        is_answered,
        case when is_answered then answered_at end as connected_at,
        reported_ended_at,
        ended_at,
        is_end_inferred,
        snapshot_count,
        has_call_object,
        call_status,
        call_number_id,
        call_destination_number,
        -- the internal party: the number dialled (offers), the agent (operators), the number
        -- that placed the call (outbound legs)
        case leg_role
            when 'entry_point' then coalesce(call_number_id, call_destination_number, destination_number)
            when 'operator' then destination_number
            else source_number
        end as target_id,
        case leg_role
            when 'entry_point' then 'number'
            when 'operator' then 'user'
            else 'number'
        end as target_type,
        case leg_role
            when 'entry_point' then coalesce(call_destination_number, destination_number)
            when 'operator' then destination_number
            else source_number
        end as target_name,
        -- the external party: the caller (inbound calls), the number called (outbound calls)
        case
            when leg_role = 'entry_point' then source_number
            when leg_role = 'operator' then coalesce(call_source_number, first_leg_source_number)
            else destination_number
        end as contact_number,
        case when leg_role = 'operator' then first_leg_id end as operated_entry_point_leg_id,
        leg_role = 'operator' as is_agent_leg,
        is_talk_leg,
        is_talk_leg and is_answered as is_answer_leg,
        coalesce(answered_operator_rank_from_last > 1, false) as is_transferred,
        case when leg_role = 'operator' then destination_number end as agent_id,
        case when leg_role = 'operator' then destination_number end as agent_name,
        cast(answered_operator_count as {{ dbt.type_int() }}) as answered_operator_count,
        conversation_started_at,
        conversation_ended_at,
        is_conversation_complete,
        is_conversation_end_inferred
    from answer_order

)

select * from final
