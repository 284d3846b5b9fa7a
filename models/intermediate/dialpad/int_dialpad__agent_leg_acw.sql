-- Dialpad: after-call work per connected agent leg that ended (docs/contract.md §11
-- "After-call work"). A wrapup of the agent (a run of consecutive `wrapup` intervals of
-- int_dialpad__agent_status_intervals: a change of reason, availability or call centers
-- during wrapup splits the interval, not the agent's wrapup; the agent id is the leg's target
-- id as VARCHAR) that starts at or after the leg's end and at most `acw_link_seconds` later
-- (inclusive) follows the leg; when it follows several legs of the agent, it is the
-- after-call work of the one that ended last (ties: the larger leg id). A wrapup lasts until
-- the agent's next other status; the agent's last interval ends at the data watermark
-- (status_interval_end, as fct_agent_status_intervals ends it).
-- acw_ms: the sum of the leg's wrapups; 0 when none followed but the agent's status feed
-- covers the leg (a status event within `open_leg_timeout_hours` before its end,
-- inclusive); null when neither (an agent without a status feed has unknown, not zero,
-- after-call work).
-- Incremental: the legs of the recomputed components (int_dialpad__legs_to_rebuild, whose
-- seeds include the legs whose after-call work new status events or a moving watermark can
-- change); a leg that no longer qualifies loses its row.

{%- set string_type = dbt.type_string() %}
{%- set link_seconds = var('acw_link_seconds', 10) %}
{%- set timeout_hours = var('open_leg_timeout_hours', 12) %}

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

handled_legs as (

    -- the legs that get after-call work: connected agent legs that ended (inferred ends count)
    select
        leg_id,
        cast(target_id as {{ string_type }}) as agent_id,
        ended_at
    from legs
    where is_agent_leg and connected_at is not null and ended_at is not null

),

agents as (

    select distinct agent_id from handled_legs

),

data_watermark as (

    -- the latest event time loaded, call and agent status events together (as
    -- fct_agent_status_intervals reads it: the agent's last interval ends there)
    select {{ dialpad_data_watermark('max(event_at)') }} as watermark_at
    from {{ ref('int_dialpad__call_events_ordered') }}

),

agent_intervals as (

    select
        intervals.agent_id,
        intervals.status_started_at,
        intervals.next_status_started_at,
        intervals.on_duty_status,
        lag(intervals.on_duty_status) over (
            partition by intervals.agent_id order by intervals.status_started_at
        ) as previous_on_duty_status
    from {{ ref('int_dialpad__agent_status_intervals') }} as intervals
    where intervals.agent_id in (select agents.agent_id from agents)

),

wrapup_intervals as (

    -- each wrapup interval, numbered by the run of consecutive wrapup intervals it is part of
    select
        agent_intervals.agent_id,
        agent_intervals.status_started_at,
        {{ status_interval_end(
            'agent_intervals.next_status_started_at', 'agent_intervals.status_started_at', 'data_watermark.watermark_at'
        ) }} as status_ended_at,
        sum(case when agent_intervals.previous_on_duty_status = 'wrapup' then 0 else 1 end) over (
            partition by agent_intervals.agent_id
            order by agent_intervals.status_started_at
            rows between unbounded preceding and current row
        ) as wrapup_number
    from agent_intervals
    cross join data_watermark
    where agent_intervals.on_duty_status = 'wrapup'

),

wrapups as (

    select
        agent_id,
        min(status_started_at) as wrapup_started_at,
        max(status_ended_at) as wrapup_ended_at
    from wrapup_intervals
    group by agent_id, wrapup_number

),

followed_wrapups as (

    -- the wrapups that start within the link window after one of these legs' ends
    select distinct
        wrapups.agent_id,
        wrapups.wrapup_started_at,
        wrapups.wrapup_ended_at
    from wrapups
    inner join handled_legs
        on wrapups.agent_id = handled_legs.agent_id
        and wrapups.wrapup_started_at >= handled_legs.ended_at
        and wrapups.wrapup_started_at <= {{ timestamp_add('second', link_seconds, 'handled_legs.ended_at') }}

),

candidate_legs as (

    -- every connected, ended agent leg of these agents, recomputed or not: a wrapup that
    -- follows two legs goes to the later-ended one, wherever that one is
    {%- if is_incremental() %}
    select
        leg_id,
        cast(target_id as {{ string_type }}) as agent_id,
        ended_at
    from {{ ref('int_dialpad__call_legs_with_roles') }}
    where
        is_agent_leg
        and connected_at is not null
        and ended_at is not null
        and cast(target_id as {{ string_type }}) in (select agents.agent_id from agents)
    {%- else %}
    select * from handled_legs
    {%- endif %}

),

claims as (

    select
        candidate_legs.leg_id,
        followed_wrapups.wrapup_started_at,
        followed_wrapups.wrapup_ended_at,
        row_number() over (
            partition by followed_wrapups.agent_id, followed_wrapups.wrapup_started_at
            order by candidate_legs.ended_at desc, candidate_legs.leg_id desc
        ) as claim_rank
    from followed_wrapups
    inner join candidate_legs
        on followed_wrapups.agent_id = candidate_legs.agent_id
        and followed_wrapups.wrapup_started_at >= candidate_legs.ended_at
        and followed_wrapups.wrapup_started_at <= {{ timestamp_add('second', link_seconds, 'candidate_legs.ended_at') }}

),

linked as (

    select
        leg_id,
        cast(sum({{ ms_between('wrapup_started_at', 'wrapup_ended_at') }}) as {{ dbt.type_bigint() }}) as linked_acw_ms,
        count(*) as linked_wrapup_count
    from claims
    where claim_rank = 1
    group by leg_id

),

status_events as (

    select
        agent_id,
        status_at
    from {{ ref('stg_dialpad__agent_status_events') }}
    where agent_id in (select agents.agent_id from agents)

),

covered_legs as (

    -- the agent's status feed covers the leg: a status event within open_leg_timeout_hours
    -- before the leg's end (both bounds inclusive)
    select distinct handled_legs.leg_id
    from handled_legs
    inner join status_events
        on handled_legs.agent_id = status_events.agent_id
        and handled_legs.ended_at >= status_events.status_at
        and {{ timestamp_add('hour', -1 * timeout_hours, 'handled_legs.ended_at') }} <= status_events.status_at

),

final as (

    select
        handled_legs.leg_id,
        handled_legs.agent_id,
        handled_legs.ended_at,
        covered_legs.leg_id is not null as is_status_covered,
        cast(coalesce(linked.linked_wrapup_count, 0) as {{ dbt.type_int() }}) as linked_wrapup_count,
        case
            when linked.leg_id is not null then linked.linked_acw_ms
            when covered_legs.leg_id is not null then cast(0 as {{ dbt.type_bigint() }})
        end as acw_ms
    from handled_legs
    left join linked
        on handled_legs.leg_id = linked.leg_id
    left join covered_legs
        on handled_legs.leg_id = covered_legs.leg_id

)

select * from final
