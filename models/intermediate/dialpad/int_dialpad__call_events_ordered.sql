-- Dialpad: every event of a leg, in the leg's order: event_at, then state rank, then the
-- identity hash (arrival order and file order never matter).
-- Incremental: the legs with new events (int_dialpad__changed_legs) are read again whole.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    written_rows={'key': 'leg_id', 'keys_model': 'int_dialpad__changed_legs'},
) }}

with events as (

    {{ rebuild_scope(ref('stg_dialpad__call_events'), 'int_dialpad__changed_legs', key='call_id') }}

),

sequenced as (

    -- the leg's order, on the few columns it needs: a window carries every column of its input
    -- through its sort (at 1M events the wide rows took 11 s, these 1 s), so the event's other
    -- columns join back after it (event_hash is unique here: staging keeps one copy). It reads
    -- its input on its own: DuckDB materialises a CTE that two others read, every column of it.
    select
        ordering_keys.event_hash,
        row_number() over (
            partition by ordering_keys.call_id
            order by ordering_keys.event_at, ordering_keys.state_rank, ordering_keys.event_hash
        ) as event_sequence,
        case
            when ordering_keys.is_live_state
                then row_number() over (
                    partition by ordering_keys.call_id, ordering_keys.is_live_state
                    order by ordering_keys.event_at, ordering_keys.state_rank, ordering_keys.event_hash
                )
        end as live_event_sequence
    from (
        {{ rebuild_scope(ref('stg_dialpad__call_events'), 'int_dialpad__changed_legs', key='call_id') }}
    ) as ordering_keys

),

final as (

    select
        events.call_id as leg_id,
        events.event_hash,
        events.state,
        events.state_class,
        events.state_rank,
        events.is_live_state,
        events.event_at,
        events.event_at_source,
        -- A fallback event time is a known time only where it is the leg's own started,
        -- connected or ended date (calling/preanswer, connected, hangup/missed/blocked).
        (
            events.event_at_source = 'fallback'
            and events.state not in ('preanswer', 'calling', 'connected', 'hangup', 'missed', 'blocked')
        ) as is_time_estimated,
        sequenced.event_sequence,
        sequenced.live_event_sequence,
        events.direction,
        events.master_call_id,
        events.entry_point_call_id,
        events.operator_call_id,
        events.started_at,
        events.rang_at,
        events.first_rang_at,
        events.queued_at,
        events.connected_at,
        events.ended_at,
        events.internal_number,
        events.external_number,
        events.group_id,
        events.is_transferred,
        events.was_recorded,
        events.target_id,
        events.target_type,
        events.target_name,
        events.target_email,
        events.target_phone,
        events.target_office_id,
        events.contact_id,
        events.contact_type,
        events.contact_name,
        events.contact_email,
        events.contact_phone,
        events.entry_point_target_id,
        events.entry_point_target_type,
        events.entry_point_target_name,
        events.entry_point_target_email,
        events.entry_point_target_phone,
        events.entry_point_target_office_id,
        events.csat_score,
        events.recap_summary,
        events.recording_urls,
        events.recording_details
    from events
    inner join sequenced
        on events.event_hash = sequenced.event_hash

)

select * from final
