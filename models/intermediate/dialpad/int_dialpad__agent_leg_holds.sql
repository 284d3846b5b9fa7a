-- Dialpad: hold and talk time per connected agent leg. hold_ms is the length of the union of
-- the leg's hold intervals (its own and its entry point's, clipped to the leg), 0 when none,
-- null when unknown: the leg has not ended, a hold is still open, or a hold's time is
-- estimated (built from a fallback event time). talk_ms is ended_at - connected_at - hold
-- (the whole handle time when the hold is unknown); null until the leg ends, and null when it
-- ended before it connected (docs/contract.md §9 "Impossible times"; its hold_ms is null then too:
-- there is no valid [connected_at, ended_at] to measure one in).
-- Incremental: the agent legs of the recomputed components.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

hold_intervals as (

    {{ rebuild_scope(
        ref('int_dialpad__agent_leg_hold_intervals'), 'int_dialpad__legs_to_rebuild', key='agent_leg_id'
    ) }}

),

agent_legs as (

    select
        leg_id,
        connected_at,
        ended_at
    from legs
    where is_agent_leg and connected_at is not null

),

unknown_holds as (

    select distinct agent_leg_id
    from hold_intervals
    where is_time_estimated or hold_ended_at is null

),

known_holds as (

    select
        agent_leg_id,
        hold_started_at,
        hold_ended_at
    from hold_intervals
    where not is_time_estimated and hold_ended_at is not null

),

merged_holds as (

    select * from {{ merge_intervals('known_holds', ['agent_leg_id'], 'hold_started_at', 'hold_ended_at') }} as merged

),

hold_totals as (

    select
        agent_leg_id,
        cast(sum({{ ms_between('merged_start_at', 'merged_end_at') }}) as {{ dbt.type_bigint() }}) as merged_hold_ms,
        cast(count(*) as {{ dbt.type_int() }}) as hold_count
    from merged_holds
    group by agent_leg_id

),

final as (

    select
        agent_legs.leg_id,
        agent_legs.connected_at,
        agent_legs.ended_at,
        case
            when agent_legs.ended_at is null or unknown_holds.agent_leg_id is not null then null
            -- a leg that ended before it connected has no valid window to measure a hold in
            when agent_legs.ended_at < agent_legs.connected_at then null
            else coalesce(hold_totals.merged_hold_ms, cast(0 as {{ dbt.type_bigint() }}))
        end as hold_ms,
        (agent_legs.ended_at is not null and unknown_holds.agent_leg_id is not null) as is_hold_unknown,
        coalesce(hold_totals.hold_count, 0) as merged_hold_count,
        -- null while the leg is open, and when it ended before it connected (a vendor clock
        -- error: unknown, never negative)
        case
            when agent_legs.ended_at >= agent_legs.connected_at
                then {{ ms_between('agent_legs.connected_at', 'agent_legs.ended_at') }}
                - case
                    when unknown_holds.agent_leg_id is not null then cast(0 as {{ dbt.type_bigint() }})
                    else coalesce(hold_totals.merged_hold_ms, cast(0 as {{ dbt.type_bigint() }}))
                end
        end as talk_ms
    from agent_legs
    left join unknown_holds
        on agent_legs.leg_id = unknown_holds.agent_leg_id
    left join hold_totals
        on agent_legs.leg_id = hold_totals.agent_leg_id

)

select * from final
