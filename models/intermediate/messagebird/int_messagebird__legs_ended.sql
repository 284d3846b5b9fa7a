-- MessageBird: every leg with its call's snapshot, its end, and the conversation's start, end
-- and completeness (docs/contract.md §8 "Mapping"; the conversation is the call).
--
-- Leg end: its endedAt; else, once its status is final (busy, no_answer, failed, hangup), the
-- updatedAt of that snapshot; else the end the call object reports (a call that ended ended
-- its legs); else, when its latest snapshot is more than `open_leg_timeout_hours` older than
-- the data watermark (the latest updatedAt of any MessageBird object, never the wall clock),
-- that snapshot's updatedAt. Every end but endedAt is_end_inferred.
--
-- Conversation: started_at is the call's createdAt, else its legs' earliest createdAt. With a
-- call object it is complete when the call ended (endedAt, else the updatedAt of its `ended`
-- snapshot) or timed out (call and legs all older than the timeout: it ends at the latest of
-- them); a call still ongoing whose legs all ended is not complete. Without a call object it
-- is complete when every leg ended, at their latest end.
-- Incremental: the recomputed calls (int_messagebird__calls_to_rebuild); the data watermark is
-- read from every snapshot.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'call_id', 'keys_model': 'int_messagebird__calls_to_rebuild'},
) }}

with all_legs as (

    select * from {{ ref('stg_messagebird__legs') }}

),

all_calls as (

    select * from {{ ref('stg_messagebird__calls') }}

),

legs as (

    {{ rebuild_scope('all_legs', 'int_messagebird__calls_to_rebuild') }}

),

calls as (

    {{ rebuild_scope('all_calls', 'int_messagebird__calls_to_rebuild') }}

),

data_watermark as (

    -- The latest snapshot time of any MessageBird object: "now" for the open-leg timeout.
    select
        max(updated_at) as watermark_at
    from (
        select updated_at from all_legs
        union all
        select updated_at from all_calls
    ) as snapshots

),

timeout as (

    select
        watermark_at,
        {{ timestamp_add('hour', -1 * var('open_leg_timeout_hours'), 'watermark_at') }} as timed_out_before
    from data_watermark

),

legs_with_calls as (

    select
        legs.*,
        calls.call_id is not null as has_call_object,
        calls.status as call_status,
        calls.source_number as call_source_number,
        calls.destination_number as call_destination_number,
        calls.number_id as call_number_id,
        calls.created_at as call_created_at,
        calls.updated_at as call_updated_at,
        -- the end the call object reports
        case
            when calls.ended_at is not null then calls.ended_at
            when calls.is_final_status then calls.updated_at
        end as call_reported_ended_at,
        timeout.timed_out_before
    from legs
    left join calls
        on legs.call_id = calls.call_id
    cross join timeout

),

leg_ends as (

    select
        legs_with_calls.*,
        case
            when legs_with_calls.ended_at is not null then legs_with_calls.ended_at
            when legs_with_calls.is_final_status then legs_with_calls.updated_at
            when legs_with_calls.call_reported_ended_at is not null
                then legs_with_calls.call_reported_ended_at
            when legs_with_calls.updated_at < legs_with_calls.timed_out_before
                then legs_with_calls.updated_at
        end as resolved_ended_at
    from legs_with_calls

),

conversations as (

    select
        call_id,
        max(case when has_call_object then 1 else 0 end) = 1 as has_call_object,
        coalesce(min(call_created_at), min(created_at)) as started_at,
        min(call_reported_ended_at) as call_reported_ended_at,
        max(resolved_ended_at) as last_leg_ended_at,
        sum(case when resolved_ended_at is null then 1 else 0 end) as open_leg_count,
        -- the latest snapshot of the call or any of its legs, for the call's own timeout
        greatest(max(call_updated_at), max(updated_at)) as last_updated_at,
        min(timed_out_before) as timed_out_before
    from leg_ends
    group by call_id

),

conversation_ends as (

    select
        call_id,
        started_at,
        case
            when not has_call_object and open_leg_count = 0 then last_leg_ended_at
            when call_reported_ended_at is not null then call_reported_ended_at
            when has_call_object and last_updated_at < timed_out_before
                then greatest(last_updated_at, last_leg_ended_at)
        end as ended_at,
        has_call_object and call_reported_ended_at is null and last_updated_at < timed_out_before
            as is_end_inferred
    from conversations

),

final as (

    select
        leg_ends.leg_id,
        leg_ends.call_id,
        leg_ends.status,
        leg_ends.status_rank,
        leg_ends.is_final_status,
        leg_ends.direction,
        leg_ends.source_number,
        leg_ends.destination_number,
        leg_ends.cost,
        leg_ends.currency,
        leg_ends.duration_seconds,
        leg_ends.created_at,
        leg_ends.updated_at,
        leg_ends.ringing_at,
        leg_ends.answered_at,
        leg_ends.ended_at as reported_ended_at,
        leg_ends.resolved_ended_at as ended_at,
        leg_ends.resolved_ended_at is not null and leg_ends.ended_at is null as is_end_inferred,
        leg_ends.snapshot_count,
        leg_ends.has_call_object,
        leg_ends.call_status,
        leg_ends.call_source_number,
        leg_ends.call_destination_number,
        leg_ends.call_number_id,
        conversation_ends.started_at as conversation_started_at,
        conversation_ends.ended_at as conversation_ended_at,
        conversation_ends.ended_at is not null as is_conversation_complete,
        conversation_ends.is_end_inferred as is_conversation_end_inferred
    from leg_ends
    inner join conversation_ends
        on leg_ends.call_id = conversation_ends.call_id

)

select * from final
