-- Contract invariant (docs/contract.md §11 `agg_agent_interval`): status time is cut, never
-- lost or doubled. Each interval's status time fits in the interval (staffed + unavailable at
-- most interval_minutes), the four classes fit in it, occupancy is in [0, 1] and is its
-- shipped numerator over its denominator, no duration is negative, and each agent's status
-- time over all intervals equals the agent's fct_agent_status_intervals durations.
-- Severity error: our own aggregation; no vendor data can make these disagree.
{{ config(severity='error') }}

with intervals as (

    select * from {{ ref('agg_agent_interval') }}

),

statuses as (

    select * from {{ ref('fct_agent_status_intervals') }}

),

interval_totals as (

    select
        provider,
        agent_id,
        sum(staffed_ms + unavailable_ms) as status_ms
    from intervals
    group by provider, agent_id

),

status_totals as (

    select
        provider,
        agent_id,
        sum(duration_ms) as status_ms
    from statuses
    group by provider, agent_id

),

inconsistent_rows as (

    select
        provider,
        cast(agent_id as {{ dbt.type_string() }}) as problem
    from intervals
    where
        staffed_ms + unavailable_ms > interval_minutes * 60000
        or staffed_ms + unavailable_ms <= 0
        or available_ms + occupied_ms + wrapup_ms > staffed_ms
        or staffed_ms < 0 or available_ms < 0 or occupied_ms < 0 or wrapup_ms < 0 or unavailable_ms < 0
        or talk_ms < 0 or hold_ms < 0
        or occupancy < 0 or occupancy > 1
        or coalesce(occupancy, -1) <> coalesce(
            cast(occupied_ms + wrapup_ms as double) / nullif(available_ms + occupied_ms + wrapup_ms, 0), -1
        )

),

mismatched_totals as (

    select
        status_totals.provider,
        cast(status_totals.agent_id as {{ dbt.type_string() }}) as problem
    from status_totals
    left join interval_totals
        on status_totals.provider = interval_totals.provider
        and status_totals.agent_id = interval_totals.agent_id
    where coalesce(interval_totals.status_ms, 0) <> status_totals.status_ms

)

select * from inconsistent_rows
union all
select * from mismatched_totals
