-- MessageBird calls whose legs never arrived (docs/contract.md §8, last paragraph): call history from
-- `GET /calls` carries no legs, and such a call is still a conversation. One row per call
-- object without a single leg snapshot, in the columns of a fct_conversations row (without
-- the repeat-contact columns, which the mart adds), unioned by int_conversations_without_legs.
--
--   started_at / ended_at  the call's createdAt / its end: endedAt, else the updatedAt of its
--                          `ended` snapshot (as for calls with legs); null while not ended
--   is_complete            the call ended (endedAt, or status `ended`); no open-leg timeout:
--                          with no leg there is nothing that could have timed out
--   outcome                `in_progress` while not complete, else `unknown` (§8)
--   direction, parties     null: without a first leg there is no direction, contact or target
--   counts                 0 (leg_count, transfer_count, agent_count, recording_count)
--   measures               null (no answer, talk, hold, queue or wait is known); was_queued,
--                          is_recorded, has_voicemail false
-- The call leaves this model as soon as a leg of it arrives; the legs then make its
-- conversation (int_messagebird__legs_mapped), with its real outcome.
-- A view: fct_conversations reads it filtered by the conversations it recomputes (the call's
-- own snapshots and its legs' are both in int_messagebird__calls_to_rebuild).

{{ config(materialized='view') }}

{%- set string_type = dbt.type_string() %}
{%- set timestamp_type = dbt.type_timestamp() %}
{%- set bigint_type = dbt.type_bigint() %}
{%- set int_type = dbt.type_int() %}

with calls as (

    select * from {{ ref('stg_messagebird__calls') }}

),

legs as (

    select * from {{ ref('stg_messagebird__legs') }}

),

calls_with_legs as (

    select call_id
    from legs
    group by call_id

),

calls_without_legs as (

    select
        calls.*,
        case
            when calls.ended_at is not null then calls.ended_at
            when calls.is_final_status then calls.updated_at
        end as reported_ended_at
    from calls
    left join calls_with_legs
        on calls.call_id = calls_with_legs.call_id
    where calls_with_legs.call_id is null

),

final as (

    select
        'messagebird' as provider,
        call_id as conversation_id,
        cast(null as {{ string_type }}) as direction,
        created_at as started_at,
        reported_ended_at as ended_at,
        reported_ended_at is not null as is_complete,
        case when reported_ended_at is null then 'in_progress' else 'unknown' end as outcome,
        false as was_queued,
        cast(0 as {{ int_type }}) as leg_count,
        cast(0 as {{ int_type }}) as transfer_count,
        cast(0 as {{ int_type }}) as agent_count,
        cast(null as {{ string_type }}) as first_agent_id,
        cast(null as {{ string_type }}) as first_agent_name,
        cast(null as {{ string_type }}) as first_agent_email,
        cast(null as {{ string_type }}) as last_agent_id,
        cast(null as {{ string_type }}) as last_agent_name,
        cast(null as {{ string_type }}) as last_agent_email,
        cast(null as {{ timestamp_type }}) as answered_at,
        cast(null as {{ bigint_type }}) as time_to_answer_ms,
        cast(null as {{ bigint_type }}) as wait_ms,
        cast(null as {{ bigint_type }}) as queue_ms,
        cast(null as {{ bigint_type }}) as hold_ms,
        cast(null as {{ bigint_type }}) as talk_ms,
        cast(null as {{ bigint_type }}) as handle_ms,
        cast(null as {{ string_type }}) as contact_number,
        cast(null as {{ string_type }}) as contact_name,
        cast(null as {{ string_type }}) as entry_target_id,
        cast(null as {{ string_type }}) as entry_target_type,
        cast(null as {{ string_type }}) as entry_target_name,
        false as is_recorded,
        cast(0 as {{ int_type }}) as recording_count,
        cast(null as {{ int_type }}) as csat_score,
        false as has_voicemail,
        cast(null as {{ string_type }}) as recap_summary
    from calls_without_legs

)

select * from final
