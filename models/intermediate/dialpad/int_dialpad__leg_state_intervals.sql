-- Dialpad: a leg's live-state timeline, one row per interval. Consecutive live events in the
-- same state (repeated deliveries included) collapse into one interval; post-call events are
-- not part of the timeline, so they never end an interval. An interval runs from its first
-- event to the next interval's first event, or to the leg's end (null while the leg is open);
-- `hangup` only closes the timeline and is not an interval itself. A leg end reported before
-- the last interval's first event is kept as its exit; that duration is unknown (null, never
-- negative: docs/contract.md §9 "Impossible times").
-- Incremental: the legs of the recomputed components.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with events as (

    {{ rebuild_scope(ref('int_dialpad__call_events_ordered'), 'int_dialpad__legs_to_rebuild') }}

),

legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs'), 'int_dialpad__legs_to_rebuild') }}

),

live_events as (

    select
        leg_id,
        live_event_sequence,
        state,
        event_at,
        is_time_estimated
    from events
    where is_live_state

),

flagged as (

    select
        live_events.*,
        case
            when live_events.state = lag(live_events.state) over (
                partition by live_events.leg_id
                order by live_events.live_event_sequence
            ) then 0
            else 1
        end as is_new_state
    from live_events

),

numbered as (

    select
        flagged.*,
        cast(
            sum(flagged.is_new_state) over (
                partition by flagged.leg_id
                order by flagged.live_event_sequence
                rows between unbounded preceding and current row
            ) as {{ dbt.type_int() }}
        ) as state_number
    from flagged

),

bounded as (

    select
        numbered.*,
        min(numbered.live_event_sequence) over (
            partition by numbered.leg_id, numbered.state_number
        ) as first_sequence,
        max(numbered.live_event_sequence) over (
            partition by numbered.leg_id, numbered.state_number
        ) as last_sequence
    from numbered

),

collapsed as (

    select
        leg_id,
        state_number,
        max(state) as state,
        max(case when live_event_sequence = first_sequence then event_at end) as entered_at,
        max(
            case when live_event_sequence = first_sequence and is_time_estimated then 1 else 0 end
        ) = 1 as is_entered_at_estimated,
        max(
            case when live_event_sequence = last_sequence and is_time_estimated then 1 else 0 end
        ) = 1 as is_last_event_at_estimated
    from bounded
    group by leg_id, state_number

),

with_next as (

    select
        collapsed.*,
        lead(collapsed.entered_at) over (
            partition by collapsed.leg_id
            order by collapsed.state_number
        ) as next_entered_at,
        lead(collapsed.is_entered_at_estimated) over (
            partition by collapsed.leg_id
            order by collapsed.state_number
        ) as is_next_entered_at_estimated
    from collapsed

),

bounded_intervals as (

    select
        with_next.leg_id,
        with_next.state_number,
        with_next.state,
        with_next.entered_at,
        coalesce(
            with_next.next_entered_at,
            -- the leg's end as reported, even before the interval's own first event (then its
            -- duration is unknown: null, never negative)
            legs.ended_at
        ) as exited_at,
        (
            with_next.is_entered_at_estimated
            or coalesce(with_next.is_next_entered_at_estimated, false)
            -- an inferred end is the leg's latest live event: estimated if that event's time is
            or (
                with_next.next_entered_at is null
                and legs.is_end_inferred
                and with_next.is_last_event_at_estimated
            )
        ) as is_time_estimated
    from with_next
    inner join legs
        on with_next.leg_id = legs.leg_id

),

final as (

    select
        leg_id,
        state_number,
        state,
        entered_at,
        exited_at,
        {{ nonnegative_ms_between('entered_at', 'exited_at') }} as duration_ms,
        is_time_estimated
    from bounded_intervals
    where state <> 'hangup'

)

select * from final
