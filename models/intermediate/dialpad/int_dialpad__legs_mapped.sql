-- Dialpad legs in the provider-neutral leg shape that int_legs unions: ids as VARCHAR, the
-- provider named, and every per-leg measure the marts need (roles, agent, answer interval,
-- transfer point, hold, talk, after-call work, queue, recordings, post-call annotations).
-- Incremental: the legs of the recomputed components.

{%- set string_type = dbt.type_string() %}

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={
        'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild', 'keys_columns': 'cast(leg_id as ' ~ dbt.type_string() ~ ')',
    },
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

holds as (

    {{ rebuild_scope(ref('int_dialpad__agent_leg_holds'), 'int_dialpad__legs_to_rebuild') }}

),

queue_times as (

    {{ rebuild_scope(ref('int_dialpad__leg_queue_times'), 'int_dialpad__legs_to_rebuild') }}

),

transfer_points as (

    {{ rebuild_scope(ref('int_dialpad__call_transfer_points'), 'int_dialpad__legs_to_rebuild') }}

),

recordings as (

    {{ rebuild_scope(ref('int_dialpad__call_leg_recordings'), 'int_dialpad__legs_to_rebuild') }}

),

after_call_work as (

    {{ rebuild_scope(ref('int_dialpad__agent_leg_acw'), 'int_dialpad__legs_to_rebuild') }}

),

transfer_point_legs as (

    select
        leg_id,
        count(*) as transfer_point_count
    from transfer_points
    group by leg_id

),

recording_counts as (

    select
        leg_id,
        sum(case when is_first_in_conversation then 1 else 0 end) as recording_count
    from recordings
    group by leg_id

),

final as (

    select
        'dialpad' as provider,
        cast(legs.leg_id as {{ string_type }}) as leg_id,
        -- Dialpad ids compare numerically: zero-padded, their text order is their numeric order
        lpad(cast(legs.leg_id as {{ string_type }}), 20, '0') as leg_sort_key,
        cast(legs.conversation_id as {{ string_type }}) as conversation_id,
        legs.leg_role,
        legs.direction,
        cast(legs.target_id as {{ string_type }}) as target_id,
        legs.target_type,
        legs.target_name,
        legs.target_email,
        cast(legs.target_office_id as {{ string_type }}) as target_office_id,
        coalesce(legs.contact_phone, legs.external_number) as contact_number,
        legs.contact_name,
        legs.started_at,
        legs.rang_at,
        legs.first_rang_at,
        legs.queued_at,
        legs.connected_at,
        legs.ended_at,
        legs.is_end_inferred,
        legs.last_live_state,
        legs.is_transferred,
        legs.was_recorded,
        cast(legs.master_call_id as {{ string_type }}) as master_call_id,
        cast(legs.entry_point_call_id as {{ string_type }}) as entry_point_call_id,
        cast(legs.operator_call_id as {{ string_type }}) as operator_call_id,
        cast(legs.operated_entry_point_leg_id as {{ string_type }}) as operated_entry_point_leg_id,
        legs.is_agent_leg,
        legs.is_agent_offered_leg,
        legs.is_answer_leg,
        cast(coalesce(transfer_point_legs.transfer_point_count, 0) as {{ dbt.type_int() }}) as transfer_point_count,
        case
            when legs.is_agent_leg or legs.is_agent_offered_leg
                then cast(legs.target_id as {{ string_type }})
        end as agent_id,
        case when legs.is_agent_leg or legs.is_agent_offered_leg then legs.target_name end as agent_name,
        case when legs.is_agent_leg or legs.is_agent_offered_leg then legs.target_email end as agent_email,
        case
            when legs.is_agent_leg or legs.is_agent_offered_leg
                then cast(legs.target_office_id as {{ string_type }})
        end as agent_office_id,
        legs.was_queued,
        queue_times.queue_ms,
        holds.hold_ms,
        coalesce(holds.is_hold_unknown, false) as is_hold_unknown,
        holds.talk_ms,
        -- connected agent legs that ended; null on the others (int_dialpad__agent_leg_acw)
        cast(after_call_work.acw_ms as {{ dbt.type_bigint() }}) as acw_ms,
        legs.has_voicemail,
        legs.was_blocked,
        cast(coalesce(recording_counts.recording_count, 0) as {{ dbt.type_int() }}) as recording_count,
        legs.csat_score,
        legs.csat_at,
        legs.recap_summary,
        legs.recap_at,
        -- Dialpad's talk legs are its agent legs; it reports no conversation of its own, so the
        -- conversation's start, end and completeness come from its legs (null here)
        legs.is_agent_leg as is_talk_leg,
        cast(null as {{ dbt.type_timestamp() }}) as conversation_started_at,
        cast(null as {{ dbt.type_timestamp() }}) as conversation_ended_at,
        cast(null as {{ dbt.type_boolean() }}) as is_conversation_complete
    from legs
    left join holds
        on legs.leg_id = holds.leg_id
    left join queue_times
        on legs.leg_id = queue_times.leg_id
    left join transfer_point_legs
        on legs.leg_id = transfer_point_legs.leg_id
    left join recording_counts
        on legs.leg_id = recording_counts.leg_id
    left join after_call_work
        on legs.leg_id = after_call_work.leg_id

)

select * from final
