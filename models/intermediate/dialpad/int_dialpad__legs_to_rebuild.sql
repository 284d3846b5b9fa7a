-- Dialpad: every node (leg with events, or id known only by reference) of every call-graph
-- component that an incremental build recomputes, with its new component. A component is
-- recomputed when it holds
--   * a leg with new events (int_dialpad__changed_legs): its events, attributes, edges and so
--     its component (two components merge when a late leg links them) changed; or
--   * an open leg near the data watermark: a leg with no reported end whose latest event is
--     at or after the open-leg refresh cutoff (macros/incremental.sql), whose inferred end
--     can differ from the one stored; or
--   * a leg whose after-call work (int_dialpad__agent_leg_acw) can change without an event of
--     its own (acw_seed_legs below).
-- Components only ever merge (events are never removed), so every node of the components a
-- changed leg belonged to before is a node here: the old conversation ids (each the id of
-- one of the component's legs) are among these leg ids, and deleting the rows of these ids
-- deletes the rows of conversations that merged away.

{%- set string_type = dbt.type_string() %}
{%- set link_seconds = var('acw_link_seconds', 10) %}

with changed_legs as (

    select leg_id from {{ ref('int_dialpad__changed_legs') }}

),

legs as (

    select leg_id, reported_ended_at, last_event_at
    from {{ ref('int_dialpad__call_legs') }}

),

components as (

    select leg_id, component_id from {{ ref('int_dialpad__call_graph_components') }}

),

data_watermark as (

    -- the latest event time loaded (int_dialpad__call_legs' own watermark)
    select {{ dialpad_data_watermark('max(last_event_at)') }} as watermark_at from legs

),

refreshed_legs as (

    select legs.leg_id
    from legs
    cross join data_watermark
    where
        legs.reported_ended_at is null
        and legs.last_event_at
            >= {{ open_leg_refresh_cutoff('dialpad_data_watermark_at', 'data_watermark.watermark_at') }}

),

user_legs as (

    -- legs that reached a user, connected and ended: the agent legs among them (roles are
    -- decided per component, later) are the legs with after-call work
    select
        leg_id,
        cast(target_id as {{ string_type }}) as agent_id,
        ended_at
    from {{ ref('int_dialpad__call_legs') }}
    where target_type = 'user' and connected_at is not null and ended_at is not null

),

status_intervals as (

    -- each interval with the start of the wrapup (run of consecutive wrapup intervals,
    -- int_dialpad__agent_leg_acw) it is part of; null when it is no wrapup interval
    select
        agent_id,
        status_started_at,
        next_status_started_at,
        on_duty_status,
        case
            when on_duty_status = 'wrapup'
                then max(case when is_wrapup_start then status_started_at end) over (
                    partition by agent_id
                    order by status_started_at
                    rows between unbounded preceding and current row
                )
        end as wrapup_started_at
    from (
        select
            agent_id,
            status_started_at,
            next_status_started_at,
            on_duty_status,
            on_duty_status = 'wrapup'
            and coalesce(
                lag(on_duty_status) over (partition by agent_id order by status_started_at) <> 'wrapup', true
            ) as is_wrapup_start
        from {{ ref('int_dialpad__agent_status_intervals') }}
    ) as flagged_intervals

),

new_statuses as (

    -- the agents with new status events, with the earliest status time among them
    select
        agent_id,
        earliest_new_status_at
    from {{ ref('int_dialpad__agents_to_rebuild') }}

),

earlier_intervals as (

    -- each such agent's latest interval that starts before its earliest new status (the same
    -- interval before and after the new events: they change no start before that time)
    select
        status_intervals.agent_id,
        status_intervals.status_started_at,
        status_intervals.wrapup_started_at,
        row_number() over (
            partition by status_intervals.agent_id
            order by status_intervals.status_started_at desc
        ) as recency_rank
    from status_intervals
    inner join new_statuses
        on status_intervals.agent_id = new_statuses.agent_id
        and status_intervals.status_started_at < new_statuses.earliest_new_status_at

),

status_reach as (

    -- New status events at or after t change interval starts at or after t only, the end of
    -- the interval in progress at t, and the coverage of legs ending at or after t: the
    -- wrapups they can add, remove, move or cut short follow legs that ended at or after
    -- (t, or the start of the wrapup in progress at t) minus acw_link_seconds
    select
        new_statuses.agent_id,
        {{ timestamp_add(
            'second',
            -1 * link_seconds,
            'coalesce(earlier_intervals.wrapup_started_at, new_statuses.earliest_new_status_at)'
        ) }} as reach_from
    from new_statuses
    left join earlier_intervals
        on new_statuses.agent_id = earlier_intervals.agent_id
        and earlier_intervals.recency_rank = 1

),

acw_seed_legs as (

    -- legs whose after-call work can change without an event of their own:
    -- 1. the legs of agents with new status events, from their reach on
    select user_legs.leg_id
    from user_legs
    inner join status_reach
        on user_legs.agent_id = status_reach.agent_id
        and user_legs.ended_at >= status_reach.reach_from

    union

    -- 2. the legs an agent's last wrapup, still open, can follow: it ends at the data
    --    watermark, which moves with every load
    select user_legs.leg_id
    from user_legs
    inner join status_intervals
        on user_legs.agent_id = status_intervals.agent_id
        and status_intervals.next_status_started_at is null
        and user_legs.ended_at <= status_intervals.wrapup_started_at
        and user_legs.ended_at
            >= {{ timestamp_add('second', -1 * link_seconds, 'status_intervals.wrapup_started_at') }}

    union

    -- 3. the same agent's legs that ended up to acw_link_seconds before a leg with new events
    --    ended: a wrapup that followed them may follow the (later-ended) new one instead
    select earlier_legs.leg_id
    from user_legs as new_legs
    inner join changed_legs
        on new_legs.leg_id = changed_legs.leg_id
    inner join user_legs as earlier_legs
        on new_legs.agent_id = earlier_legs.agent_id
        and new_legs.ended_at >= earlier_legs.ended_at
        and {{ timestamp_add('second', -1 * link_seconds, 'new_legs.ended_at') }} <= earlier_legs.ended_at

),

seed_legs as (

    select leg_id from changed_legs
    union
    select leg_id from refreshed_legs
    union
    select leg_id from acw_seed_legs

),

rebuilt_components as (

    select distinct components.component_id
    from components
    inner join seed_legs
        on components.leg_id = seed_legs.leg_id

),

final as (

    select
        components.leg_id,
        components.component_id,
        changed_legs.leg_id is not null as has_new_events
    from components
    inner join rebuilt_components
        on components.component_id = rebuilt_components.component_id
    left join changed_legs
        on components.leg_id = changed_legs.leg_id

)

select * from final
