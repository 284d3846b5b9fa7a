-- Dialpad: an agent's status timeline (docs/contract.md §11), one row per interval in one
-- status. An agent's events are ordered by the time the status changed (`status_at`); of two
-- events at the same instant, the one generated later (event_at, then the larger event_hash)
-- is the status. A run of events with the same on-duty status, reason, availability and call
-- centers is one interval from its first event (repeated deliveries and repeated identical
-- statuses collapse); it ends where the next interval starts, and the last interval of an
-- agent is open here (next_status_started_at null): the mart ends it at the data watermark.
-- Incremental: every interval of the agents with new events (a late event can split, merge
-- or end any of them).

{{ config(
    materialized='incremental',
    unique_key=['agent_id', 'status_started_at'],
    rebuild_set={'key': 'agent_id', 'keys_model': 'int_dialpad__agents_to_rebuild'},
) }}

with events as (

    {{ rebuild_scope(ref('stg_dialpad__agent_status_events'), 'int_dialpad__agents_to_rebuild') }}

),

ranked as (

    select
        events.*,
        row_number() over (
            partition by events.agent_id, events.status_at
            order by events.event_at desc, events.event_hash desc
        ) as instant_rank
    from events

),

statuses as (

    select
        agent_id,
        status_at,
        is_status_at_estimated,
        on_duty_status,
        on_duty_status_reason,
        availability_status,
        call_center_ids,
        lag(on_duty_status) over (partition by agent_id order by status_at) as previous_on_duty_status,
        lag(on_duty_status_reason) over (partition by agent_id order by status_at) as previous_reason,
        lag(availability_status) over (partition by agent_id order by status_at) as previous_availability,
        lag(call_center_ids) over (partition by agent_id order by status_at) as previous_call_center_ids,
        row_number() over (partition by agent_id order by status_at) as status_sequence
    from ranked
    where instant_rank = 1

),

interval_starts as (

    -- the first event of each run of identical statuses
    select *
    from statuses
    where
        status_sequence = 1
        or on_duty_status is distinct from previous_on_duty_status
        or on_duty_status_reason is distinct from previous_reason
        or availability_status is distinct from previous_availability
        or call_center_ids is distinct from previous_call_center_ids

),

final as (

    select
        'dialpad' as provider,
        agent_id,
        status_at as status_started_at,
        lead(status_at) over (partition by agent_id order by status_at) as next_status_started_at,
        on_duty_status,
        on_duty_status_reason,
        availability_status,
        call_center_ids,
        is_status_at_estimated
    from interval_starts

)

select * from final
