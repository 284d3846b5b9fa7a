-- One row per leg with events, every provider: docs/contract.md §6 `fct_call_legs`.
-- Incremental: the legs of the recomputed conversations; a leg stored under a
-- conversation id that merged away is deleted with it.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'leg_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_conversations_to_rebuild') }}

),

final as (

    select
        provider,
        leg_id,
        conversation_id,
        leg_role,
        direction,
        target_id,
        target_type,
        target_name,
        started_at,
        rang_at,
        queued_at,
        connected_at,
        ended_at,
        is_end_inferred,
        last_live_state,
        is_transferred,
        cast(hold_ms as {{ dbt.type_bigint() }}) as hold_ms,
        cast(talk_ms as {{ dbt.type_bigint() }}) as talk_ms,
        cast(acw_ms as {{ dbt.type_bigint() }}) as acw_ms,
        master_call_id,
        entry_point_call_id,
        operator_call_id
    from legs

)

select * from final
