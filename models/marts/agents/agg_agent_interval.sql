-- One row per (provider, interval_start_at, agent_id) in which the agent had a status:
-- docs/contract.md §11 `agg_agent_interval`. Intervals are the local intervals of
-- `interval_minutes` (15, 30 or 60; default 30) of reporting_timezone; interval_start_at is
-- the UTC instant one begins (exact across daylight-saving changes and in half- and
-- quarter-hour zones, as hour_start_at of agg_call_center_hourly). Status time, and the talk
-- and hold of the agent's handled legs, are cut exactly at the interval boundaries, so an
-- agent's statuses in an interval add up to the time the feed covers of it; a handled leg
-- counts in the interval its started_at falls in (as agg_agent_daily counts it on that date).
-- Rows come from status time only: legs of an interval without a status are not here (they
-- are in agg_agent_daily). A table rebuilt by every build (the last status of each agent moves
-- with the data watermark).

{%- set minutes = interval_minutes() %}

with status_time as (

    select * from {{ agent_status_time_by_interval(ref('fct_agent_status_intervals'), minutes) }} as by_interval

),

legs as (

    select * from {{ ref('int_legs') }}

),

agents as (

    select * from {{ ref('dim_agents') }}

),

status_names as (

    select * from {{ agent_status_names(ref('stg_dialpad__agent_status_events')) }} as names

),

handled_legs as (

    -- as agg_agent_daily: agent legs (monitors are neither) that connected and ended
    select
        provider,
        leg_id,
        agent_id,
        started_at,
        connected_at,
        ended_at,
        hold_ms
    from legs
    where
        agent_id is not null
        and leg_role <> 'monitor'
        and is_agent_leg
        and connected_at is not null
        and ended_at is not null

),

talk_windows as (

    -- the span a handled leg's talk and hold are in; none when it ended before it connected
    -- (its talk is unknown: docs/contract.md §9 "Impossible times")
    select * from handled_legs where ended_at >= connected_at

),

leg_pieces as (

    select
        provider,
        leg_id,
        agent_id,
        interval_start_at,
        piece_ms
    from {{ cut_at_local_intervals('talk_windows', 'connected_at', 'ended_at', minutes, reporting_timezone()) }} as cut

),

hold_intervals as (

    -- a leg's known holds (its own and its entry point's, clipped to the leg); a leg whose hold
    -- is unknown (hold_ms null) has none: its whole connected time is talk, as in its talk_ms
    select
        talk_windows.leg_id as agent_leg_id,
        hold_intervals.hold_started_at,
        hold_intervals.hold_ended_at
    from {{ ref('int_dialpad__agent_leg_hold_intervals') }} as hold_intervals
    inner join talk_windows
        on talk_windows.provider = 'dialpad'
        and cast(hold_intervals.agent_leg_id as {{ dbt.type_string() }}) = talk_windows.leg_id
    where talk_windows.hold_ms is not null

),

merged_holds as (

    -- overlapping holds (the leg's and its entry point's) count once, as in hold_ms
    select * from {{
        merge_intervals('hold_intervals', ['agent_leg_id'], 'hold_started_at', 'hold_ended_at')
    }} as merged

),

hold_pieces as (

    select
        agent_leg_id,
        interval_start_at,
        sum(piece_ms) as hold_piece_ms
    from {{
        cut_at_local_intervals('merged_holds', 'merged_start_at', 'merged_end_at', minutes, reporting_timezone())
    }} as cut
    group by agent_leg_id, interval_start_at

),

leg_interval_time as (

    select
        leg_pieces.provider,
        leg_pieces.agent_id,
        leg_pieces.interval_start_at,
        leg_pieces.piece_ms - coalesce(hold_pieces.hold_piece_ms, 0) as talk_ms,
        case
            when talk_windows.hold_ms is not null then coalesce(hold_pieces.hold_piece_ms, 0)
        end as hold_ms
    from leg_pieces
    inner join talk_windows
        on leg_pieces.provider = talk_windows.provider
        and leg_pieces.leg_id = talk_windows.leg_id
    left join hold_pieces
        on leg_pieces.provider = 'dialpad'
        and leg_pieces.leg_id = hold_pieces.agent_leg_id
        and leg_pieces.interval_start_at = hold_pieces.interval_start_at

),

leg_time as (

    select
        provider,
        agent_id,
        interval_start_at,
        sum(talk_ms) as talk_ms,
        sum(hold_ms) as hold_ms
    from leg_interval_time
    group by provider, agent_id, interval_start_at

),

leg_counts as (

    select
        provider,
        agent_id,
        {{ local_interval_start_at('started_at', reporting_timezone(), minutes) }} as interval_start_at,
        count(*) as handled_leg_count
    from handled_legs
    where started_at is not null
    group by
        provider,
        agent_id,
        {{ local_interval_start_at('started_at', reporting_timezone(), minutes) }}

),

final as (

    select
        status_time.provider,
        status_time.interval_start_at,
        status_time.interval_start_local,
        cast(status_time.interval_start_local as date) as reporting_date,
        cast({{ reporting_timezone() }} as {{ dbt.type_string() }}) as reporting_timezone,
        cast({{ minutes }} as {{ dbt.type_int() }}) as interval_minutes,
        status_time.agent_id,
        coalesce(agents.name, status_names.agent_name) as agent_name,
        {{ agent_status_time_columns('status_time') }},
        cast(coalesce(leg_counts.handled_leg_count, 0) as {{ dbt.type_int() }}) as handled_leg_count,
        cast(leg_time.talk_ms as {{ dbt.type_bigint() }}) as talk_ms,
        cast(leg_time.hold_ms as {{ dbt.type_bigint() }}) as hold_ms
    from status_time
    left join agents
        on status_time.provider = agents.provider
        and status_time.agent_id = agents.agent_id
    left join status_names
        on status_time.provider = status_names.provider
        and status_time.agent_id = status_names.agent_id
    left join leg_time
        on status_time.provider = leg_time.provider
        and status_time.agent_id = leg_time.agent_id
        and status_time.interval_start_at = leg_time.interval_start_at
    left join leg_counts
        on status_time.provider = leg_counts.provider
        and status_time.agent_id = leg_counts.agent_id
        and status_time.interval_start_at = leg_counts.interval_start_at

)

select * from final
