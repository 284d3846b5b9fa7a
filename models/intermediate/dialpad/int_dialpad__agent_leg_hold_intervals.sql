-- Dialpad: the hold intervals that belong to each connected agent leg: its own and those of the
-- entry point it operates, clipped to the agent leg's [connected_at, ended_at]. Holds outside
-- that window are dropped; an estimated hold is kept unclipped whatever its times (it makes
-- the leg's hold unknown); an end still open is null.
-- Incremental: the agent legs of the recomputed components (an agent leg and the entry point
-- it operates are in one component).

{{ config(
    materialized='incremental',
    unique_key='agent_leg_id',
    rebuild_set={
        'key': 'agent_leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild', 'keys_columns': 'leg_id',
    },
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

state_intervals as (

    {{ rebuild_scope(ref('int_dialpad__leg_state_intervals'), 'int_dialpad__legs_to_rebuild') }}

),

agent_legs as (

    select
        leg_id,
        operated_entry_point_leg_id,
        connected_at,
        ended_at
    from legs
    where is_agent_leg and connected_at is not null

),

holds as (

    select
        leg_id,
        entered_at,
        exited_at,
        is_time_estimated
    from state_intervals
    where state = 'hold'

),

agent_leg_holds as (

    select
        agent_legs.leg_id as agent_leg_id,
        holds.leg_id as hold_leg_id,
        agent_legs.connected_at,
        agent_legs.ended_at,
        holds.entered_at,
        holds.exited_at,
        holds.is_time_estimated
    from agent_legs
    inner join holds
        on agent_legs.leg_id = holds.leg_id

    union all

    select
        agent_legs.leg_id as agent_leg_id,
        holds.leg_id as hold_leg_id,
        agent_legs.connected_at,
        agent_legs.ended_at,
        holds.entered_at,
        holds.exited_at,
        holds.is_time_estimated
    from agent_legs
    inner join holds
        on agent_legs.operated_entry_point_leg_id = holds.leg_id

),

clipped as (

    select
        agent_leg_id,
        hold_leg_id,
        -- estimated holds keep their (unreliable) times: they only mark the hold unknown
        case
            when is_time_estimated then entered_at
            when entered_at < connected_at then connected_at
            else entered_at
        end as hold_started_at,
        case
            when is_time_estimated then exited_at
            when exited_at is null then ended_at
            when ended_at is null then exited_at
            when exited_at > ended_at then ended_at
            else exited_at
        end as hold_ended_at,
        is_time_estimated
    from agent_leg_holds

),

final as (

    select
        agent_leg_id,
        hold_leg_id,
        hold_started_at,
        hold_ended_at,
        is_time_estimated
    from clipped
    where
        is_time_estimated
        or hold_ended_at is null
        or hold_started_at < hold_ended_at

)

select * from final
