-- The state timeline, every provider: one row per live-state interval of a leg
-- (docs/contract.md §6 `fct_leg_states`).
-- Incremental: the states of the legs of the recomputed conversations.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'leg_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
) }}

with leg_states as (

    {{ rebuild_scope(ref('int_leg_states'), 'int_legs_to_rebuild') }}

),

legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_conversations_to_rebuild') }}

),

final as (

    select
        leg_states.provider,
        leg_states.leg_id,
        legs.conversation_id,
        leg_states.state,
        leg_states.entered_at,
        leg_states.exited_at,
        -- never negative, whatever a provider's mapping computed (docs/contract.md §9 "Impossible times")
        cast(case when leg_states.duration_ms >= 0 then leg_states.duration_ms end as {{ dbt.type_bigint() }})
            as duration_ms,
        leg_states.is_time_estimated
    from leg_states
    inner join legs
        on leg_states.provider = legs.provider
        and leg_states.leg_id = legs.leg_id

)

select * from final
