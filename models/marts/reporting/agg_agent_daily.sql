-- One row per (provider, reporting_date, agent_id): docs/contract.md §6 `agg_agent_daily`. Leg columns
-- count on the local date (reporting_timezone) of the leg's started_at; conversation columns
-- on the local date of the agent's first connected agent leg in the conversation. Every
-- average ships with its numerator and denominator so days roll up to weeks; it divides by
-- the count of the terms it summed (a duration that came out negative is null and left out:
-- docs/contract.md §9 "Impossible times").
-- Status time (docs/contract.md §11: staffed, available, occupied, wrapup, unavailable and
-- occupancy) is the agent's fct_agent_status_intervals cut at local-day boundaries (through
-- the local hours, so a daylight-saving day has its 23 or 25 hours); an agent with status time
-- but no legs that day still has a row, and a day without any status of the agent has null
-- status columns (no feed: unknown, not 0).

with legs as (

    select * from {{ ref('int_legs') }}

),

conversations as (

    select * from {{ ref('fct_conversations') }}

),

agents as (

    select * from {{ ref('dim_agents') }}

),

status_days as (

    -- status time per local day: the local hours' status time added up by their date
    select
        status_hours.provider,
        cast(status_hours.interval_start_local as date) as reporting_date,
        status_hours.agent_id,
        sum(status_hours.staffed_ms) as staffed_ms,
        sum(status_hours.available_ms) as available_ms,
        sum(status_hours.occupied_ms) as occupied_ms,
        sum(status_hours.wrapup_ms) as wrapup_ms,
        sum(status_hours.unavailable_ms) as unavailable_ms
    from {{ agent_status_time_by_interval(ref('fct_agent_status_intervals'), 60) }} as status_hours
    group by
        status_hours.provider,
        cast(status_hours.interval_start_local as date),
        status_hours.agent_id

),

status_names as (

    select * from {{ agent_status_names(ref('stg_dialpad__agent_status_events')) }} as names

),

agent_legs as (

    -- agent legs and agent-offered legs (monitors are neither)
    select * from legs where agent_id is not null and leg_role <> 'monitor'

),

entry_points as (

    select
        provider,
        leg_id,
        is_transferred
    from legs
    where leg_role = 'entry_point'

),

leg_facts as (

    select
        agent_legs.provider,
        {{ reporting_date('agent_legs.started_at') }} as reporting_date,
        agent_legs.agent_id,
        case when agent_legs.is_agent_offered_leg then 1 else 0 end as offered_leg_count,
        case
            when agent_legs.is_agent_offered_leg and agent_legs.connected_at is not null then 1 else 0
        end as answered_leg_count,
        case
            when agent_legs.is_agent_offered_leg and agent_legs.connected_at is null
                and agent_legs.ended_at is not null then 1
            else 0
        end as missed_leg_count,
        case
            when agent_legs.is_agent_leg and agent_legs.leg_role = 'direct'
                and agent_legs.direction = 'outbound' then 1 else 0
        end as outbound_leg_count,
        case
            when agent_legs.is_agent_leg and agent_legs.leg_role = 'direct'
                and agent_legs.direction = 'outbound'
                and agent_legs.connected_at is not null then 1
            else 0
        end as outbound_connected_leg_count,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null then 1
            else 0
        end as handled_leg_count,
        0 as conversations_handled_count,
        0 as conversations_as_first_agent_count,
        0 as conversations_as_last_agent_count,
        0 as first_contact_resolved_count,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null
                and (agent_legs.is_transferred or coalesce(entry_points.is_transferred, false))
                then 1
            else 0
        end as transfers_out_count,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null then agent_legs.talk_ms
        end as talk_ms,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null then agent_legs.hold_ms
        end as hold_ms,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null then agent_legs.acw_ms
        end as acw_ms,
        case
            when agent_legs.is_agent_leg and agent_legs.connected_at is not null
                and agent_legs.ended_at is not null
                then agent_legs.talk_ms + coalesce(agent_legs.hold_ms, 0) + coalesce(agent_legs.acw_ms, 0)
        end as handle_ms,
        -- null (unknown, never negative) when the leg connected before it rang or started
        case
            when agent_legs.is_agent_offered_leg and agent_legs.connected_at is not null
                then {{ nonnegative_ms_between(
                    'coalesce(agent_legs.rang_at, agent_legs.started_at)', 'agent_legs.connected_at'
                ) }}
        end as answer_delay_ms
    from agent_legs
    left join entry_points
        on agent_legs.provider = entry_points.provider
        and agent_legs.operated_entry_point_leg_id = entry_points.leg_id

),

agent_conversations as (

    -- each agent's conversations: those in which an agent leg of theirs connected
    select
        provider,
        conversation_id,
        agent_id,
        min(connected_at) as first_connected_at
    from agent_legs
    where is_agent_leg and connected_at is not null
    group by provider, conversation_id, agent_id

),

repeat_followed as (

    -- conversations some later conversation of the same contact repeats
    select distinct
        provider,
        previous_conversation_id as conversation_id
    from conversations
    where previous_conversation_id is not null

),

conversation_facts as (

    select
        agent_conversations.provider,
        {{ reporting_date('agent_conversations.first_connected_at') }} as reporting_date,
        agent_conversations.agent_id,
        0 as offered_leg_count,
        0 as answered_leg_count,
        0 as missed_leg_count,
        0 as outbound_leg_count,
        0 as outbound_connected_leg_count,
        0 as handled_leg_count,
        1 as conversations_handled_count,
        case when conversations.first_agent_id = agent_conversations.agent_id then 1 else 0 end
            as conversations_as_first_agent_count,
        case when conversations.last_agent_id = agent_conversations.agent_id then 1 else 0 end
            as conversations_as_last_agent_count,
        case when repeat_followed.conversation_id is null then 1 else 0 end as first_contact_resolved_count,
        0 as transfers_out_count,
        cast(null as {{ dbt.type_bigint() }}) as talk_ms,
        cast(null as {{ dbt.type_bigint() }}) as hold_ms,
        cast(null as {{ dbt.type_bigint() }}) as acw_ms,
        cast(null as {{ dbt.type_bigint() }}) as handle_ms,
        cast(null as {{ dbt.type_bigint() }}) as answer_delay_ms
    from agent_conversations
    inner join conversations
        on agent_conversations.provider = conversations.provider
        and agent_conversations.conversation_id = conversations.conversation_id
    left join repeat_followed
        on agent_conversations.provider = repeat_followed.provider
        and agent_conversations.conversation_id = repeat_followed.conversation_id

),

status_day_facts as (

    -- a day of status time, so that an agent with status but no legs that day has a row
    select
        provider,
        reporting_date,
        agent_id,
        0 as offered_leg_count,
        0 as answered_leg_count,
        0 as missed_leg_count,
        0 as outbound_leg_count,
        0 as outbound_connected_leg_count,
        0 as handled_leg_count,
        0 as conversations_handled_count,
        0 as conversations_as_first_agent_count,
        0 as conversations_as_last_agent_count,
        0 as first_contact_resolved_count,
        0 as transfers_out_count,
        cast(null as {{ dbt.type_bigint() }}) as talk_ms,
        cast(null as {{ dbt.type_bigint() }}) as hold_ms,
        cast(null as {{ dbt.type_bigint() }}) as acw_ms,
        cast(null as {{ dbt.type_bigint() }}) as handle_ms,
        cast(null as {{ dbt.type_bigint() }}) as answer_delay_ms
    from status_days

),

facts as (

    select * from leg_facts
    union all
    select * from conversation_facts
    union all
    select * from status_day_facts

),

aggregated as (

    select
        provider,
        reporting_date,
        agent_id,
        sum(offered_leg_count) as offered_leg_count,
        sum(answered_leg_count) as answered_leg_count,
        sum(missed_leg_count) as missed_leg_count,
        sum(outbound_leg_count) as outbound_leg_count,
        sum(outbound_connected_leg_count) as outbound_connected_leg_count,
        sum(handled_leg_count) as handled_leg_count,
        sum(conversations_handled_count) as conversations_handled_count,
        sum(conversations_as_first_agent_count) as conversations_as_first_agent_count,
        sum(conversations_as_last_agent_count) as conversations_as_last_agent_count,
        sum(first_contact_resolved_count) as first_contact_resolved_count,
        sum(transfers_out_count) as transfers_out_count,
        sum(talk_ms) as talk_ms,
        sum(hold_ms) as hold_ms,
        sum(acw_ms) as acw_ms,
        count(acw_ms) as acw_known_leg_count,
        sum(handle_ms) as handle_ms,
        count(handle_ms) as handle_known_leg_count,
        sum(answer_delay_ms) as answer_delay_ms_sum,
        count(answer_delay_ms) as answer_delay_known_leg_count
    from facts
    group by provider, reporting_date, agent_id

),

final as (

    select
        aggregated.provider,
        aggregated.reporting_date,
        aggregated.agent_id,
        coalesce(agents.name, status_names.agent_name) as agent_name,
        agents.email as agent_email,
        agents.office_id,
        cast(aggregated.offered_leg_count as {{ dbt.type_int() }}) as offered_leg_count,
        cast(aggregated.answered_leg_count as {{ dbt.type_int() }}) as answered_leg_count,
        cast(aggregated.missed_leg_count as {{ dbt.type_int() }}) as missed_leg_count,
        cast(aggregated.outbound_leg_count as {{ dbt.type_int() }}) as outbound_leg_count,
        cast(aggregated.outbound_connected_leg_count as {{ dbt.type_int() }}) as outbound_connected_leg_count,
        cast(aggregated.handled_leg_count as {{ dbt.type_int() }}) as handled_leg_count,
        cast(aggregated.conversations_handled_count as {{ dbt.type_int() }}) as conversations_handled_count,
        cast(
            aggregated.conversations_as_first_agent_count as {{ dbt.type_int() }}
        ) as conversations_as_first_agent_count,
        cast(aggregated.conversations_as_last_agent_count as {{ dbt.type_int() }}) as conversations_as_last_agent_count,
        cast(aggregated.first_contact_resolved_count as {{ dbt.type_int() }}) as first_contact_resolved_count,
        cast(aggregated.first_contact_resolved_count as double)
            / nullif(aggregated.conversations_handled_count, 0) as fcr_rate,
        cast(aggregated.transfers_out_count as {{ dbt.type_int() }}) as transfers_out_count,
        cast(aggregated.transfers_out_count as double)
            / nullif(aggregated.handled_leg_count, 0) as transfer_rate,
        cast(aggregated.talk_ms as {{ dbt.type_bigint() }}) as talk_ms,
        cast(aggregated.hold_ms as {{ dbt.type_bigint() }}) as hold_ms,
        cast(aggregated.acw_ms as {{ dbt.type_bigint() }}) as acw_ms,
        cast(aggregated.acw_known_leg_count as {{ dbt.type_int() }}) as acw_known_leg_count,
        cast(aggregated.handle_ms as {{ dbt.type_bigint() }}) as handle_ms,
        cast(aggregated.handle_known_leg_count as {{ dbt.type_int() }}) as handle_known_leg_count,
        cast(aggregated.handle_ms as double) / nullif(aggregated.handle_known_leg_count, 0) as aht_ms,
        cast(aggregated.answer_delay_ms_sum as {{ dbt.type_bigint() }}) as answer_delay_ms_sum,
        cast(aggregated.answer_delay_known_leg_count as {{ dbt.type_int() }}) as answer_delay_known_leg_count,
        cast(aggregated.answer_delay_ms_sum as double)
            / nullif(aggregated.answer_delay_known_leg_count, 0) as avg_answer_delay_ms,
        {{ agent_status_time_columns('status_days') }}
    from aggregated
    left join agents
        on aggregated.provider = agents.provider
        and aggregated.agent_id = agents.agent_id
    left join status_names
        on aggregated.provider = status_names.provider
        and aggregated.agent_id = status_names.agent_id
    left join status_days
        on aggregated.provider = status_days.provider
        and aggregated.reporting_date = status_days.reporting_date
        and aggregated.agent_id = status_days.agent_id

)

select * from final
