-- MessageBird legs in the provider-neutral leg shape that int_legs unions (the columns of
-- leg_columns(), macros/neutral_columns.sql; its enforced contract checks them). MessageBird
-- reports no hold, queue, recording, voicemail, csat, recap or first ring of a call center:
-- those columns are null, false or 0. Leg times pass
-- through as delivered, even out of order (answeredAt after endedAt). The call is the
-- conversation, and its own start, end and completeness travel on every leg
-- (conversation_started_at, conversation_ended_at, is_conversation_complete).
-- A view: a projection, read through int_legs by models that filter it.

{{ config(materialized='view') }}

{%- set string_type = dbt.type_string() %}
{%- set timestamp_type = dbt.type_timestamp() %}

with legs as (

    select * from {{ ref('int_messagebird__legs_with_roles') }}

),

final as (

    select
        'messagebird' as provider,
        leg_id,
        -- MessageBird ids are UUID-like strings: "ties: the smaller id" is their text order
        leg_id as leg_sort_key,
        call_id as conversation_id,
        leg_role,
        case direction
            when 'incoming' then 'inbound'
            when 'outgoing' then 'outbound'
        end as direction,
        target_id,
        target_type,
        target_name,
        cast(null as {{ string_type }}) as target_email,
        cast(null as {{ string_type }}) as target_office_id,
        contact_number,
        cast(null as {{ string_type }}) as contact_name,
        created_at as started_at,
        rang_at,
        -- MessageBird reports no first ring of a call center: its offers wait from rang_at
        cast(null as {{ timestamp_type }}) as first_rang_at,
        cast(null as {{ timestamp_type }}) as queued_at,
        connected_at,
        ended_at,
        is_end_inferred,
        status as last_live_state,
        is_transferred,
        false as was_recorded,
        cast(null as {{ string_type }}) as master_call_id,
        cast(null as {{ string_type }}) as entry_point_call_id,
        cast(null as {{ string_type }}) as operator_call_id,
        operated_entry_point_leg_id,
        is_agent_leg,
        -- agent-offered legs: every operator leg (a MessageBird agent is rung on its own leg)
        is_agent_leg as is_agent_offered_leg,
        is_answer_leg,
        cast(case when is_transferred then 1 else 0 end as {{ dbt.type_int() }}) as transfer_point_count,
        agent_id,
        agent_name,
        cast(null as {{ string_type }}) as agent_email,
        cast(null as {{ string_type }}) as agent_office_id,
        false as was_queued,
        cast(null as {{ dbt.type_bigint() }}) as queue_ms,
        cast(null as {{ dbt.type_bigint() }}) as hold_ms,
        -- MessageBird does not report hold: unknown on every answered talk leg
        is_answer_leg as is_hold_unknown,
        -- null while open, and when the leg ended before it was answered (a vendor clock error:
        -- MessageBird's own example leg; unknown, never negative, docs/contract.md §9): its
        -- conversation's talk and handle are then unknown too
        case
            when is_answer_leg
                then {{ nonnegative_ms_between('connected_at', 'ended_at') }}
        end as talk_ms,
        -- MessageBird reports no agent status: after-call work is unknown
        cast(null as {{ dbt.type_bigint() }}) as acw_ms,
        false as has_voicemail,
        false as was_blocked,
        cast(0 as {{ dbt.type_int() }}) as recording_count,
        cast(null as {{ dbt.type_int() }}) as csat_score,
        cast(null as {{ timestamp_type }}) as csat_at,
        cast(null as {{ string_type }}) as recap_summary,
        cast(null as {{ timestamp_type }}) as recap_at,
        is_talk_leg,
        conversation_started_at,
        conversation_ended_at,
        is_conversation_complete
    from legs

)

select * from final
