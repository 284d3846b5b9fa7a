-- How fresh and healthy the feed is, one row per provider (docs/contract.md §10 `marts.feed_health`):
-- a provider with raw data (events, snapshots, or open quarantine attributed to it), plus
-- `unknown` for the open quarantine no provider can be told for (not JSON, failed files) and
-- for the lines still pending (a pending line has no provider yet). Raw counts come from the
-- raw layer; leg, state and conversation counts from the marts this build published, so they
-- agree with them. A table rebuilt whole by every build (a few rows; its inputs are scanned
-- once each).

{%- set failed_file_reasons = ['unreadable_file', 'corrupt_gzip', 'invalid_json_document'] %}

with dialpad_events as (

    select * from {{ source('raw', 'dialpad_call_events') }}

),

messagebird_calls as (

    select * from {{ source('raw_messagebird', 'messagebird_calls') }}

),

messagebird_legs as (

    select * from {{ source('raw_messagebird', 'messagebird_legs') }}

),

quarantine as (

    select * from {{ source('raw', 'quarantine') }}

),

load_log as (

    select * from {{ source('raw', 'load_log') }}

),

conversations as (

    select * from {{ ref('fct_conversations') }}

),

call_legs as (

    select * from {{ ref('fct_call_legs') }}

),

leg_states as (

    select * from {{ ref('fct_leg_states') }}

),

offers as (

    select * from {{ ref('fct_call_center_offers') }}

),

offer_answers as (

    select * from {{ ref('int_call_center_offer_answers') }}

),

answer_windows as (

    select * from {{ ref('int_conversation_answer_windows') }}

),

neutral_legs as (

    select * from {{ ref('int_legs') }}

),

graph_nodes as (

    select * from {{ ref('int_dialpad__call_graph_components') }}

),

-- raw data: distinct events (Dialpad) or snapshots (MessageBird), identities counted once (a
-- Parquet raw layer keeps every load's copies)

dialpad_raw as (

    select
        'dialpad' as provider,
        {{ dbt.date_trunc('millisecond', 'max(event_at)') }} as data_watermark_at,
        max(loaded_at) as last_loaded_at,
        count(distinct event_hash) as event_count,
        count(distinct case when {{ list_length('implausible_time_fields') }} > 0 then event_hash end)
            as implausible_time_count
    from dialpad_events

),

messagebird_snapshots as (

    select object_hash, updated_at, loaded_at, implausible_time_fields from messagebird_calls
    union all
    select object_hash, updated_at, loaded_at, implausible_time_fields from messagebird_legs

),

messagebird_raw as (

    select
        'messagebird' as provider,
        {{ dbt.date_trunc('millisecond', 'max(updated_at)') }} as data_watermark_at,
        max(loaded_at) as last_loaded_at,
        count(distinct object_hash) as event_count,
        count(distinct case when {{ list_length('implausible_time_fields') }} > 0 then object_hash end)
            as implausible_time_count
    from messagebird_snapshots

),

raw_facts as (

    select * from dialpad_raw
    union all
    select * from messagebird_raw

),

-- the dead-letter queue: a row is open while released_at is null; a failed file is one row

quarantined_records as (

    select distinct
        coalesce(provider, 'unknown') as provider,
        source_file,
        source_line,
        raw_hash,
        reason,
        released_at is null as is_open
    from quarantine

),

quarantine_facts as (

    select
        provider,
        sum(case when is_open then 1 else 0 end) as open_quarantine_count,
        sum(
            case
                when is_open and reason in ('{{ failed_file_reasons | join("', '") }}') then 1  -- noqa: LT05
                else 0
            end
        ) as failed_file_count
    from quarantined_records
    group by provider

),

quarantine_loads as (

    select
        coalesce(provider, 'unknown') as provider,
        max(loaded_at) as last_loaded_at
    from quarantine
    group by coalesce(provider, 'unknown')

),

-- pending lines: the pending_count of each path's latest load (by finished_at); all `unknown`

latest_loads as (

    select
        path,
        finished_at,
        coalesce(pending_count, 0) as pending_count,
        row_number() over (partition by path order by finished_at desc, load_id desc) as recency
    from load_log

),

pending_facts as (

    select
        'unknown' as provider,
        sum(pending_count) as pending_line_count,
        max(case when pending_count > 0 then finished_at end) as last_loaded_at
    from latest_loads
    where recency = 1

),

-- what the marts hold

conversation_facts as (

    select
        provider,
        count(*) as conversation_count
    from conversations
    group by provider

),

leg_facts as (

    select
        provider,
        sum(case when ended_at is null then 1 else 0 end) as open_leg_count,
        sum(case when is_end_inferred then 1 else 0 end) as end_inferred_leg_count
    from call_legs
    group by provider

),

reference_only_facts as (

    -- legs known only from another leg's reference (their own events never arrived): only
    -- Dialpad's call graph has them
    select
        'dialpad' as provider,
        sum(case when has_events then 0 else 1 end) as reference_only_leg_count
    from graph_nodes

),

estimated_facts as (

    select
        provider,
        sum(case when is_time_estimated then 1 else 0 end) as estimated_time_interval_count
    from leg_states
    group by provider

),

-- every value the impossible-times rule nulled (docs/contract.md §9; docs/metrics.md), once, where it
-- is computed: a sum it leaves unknown, and values derived from it, are not counted again

negative_durations as (

    -- talk of a leg that ended before it connected (agent legs; MessageBird's talk legs)
    select provider, 1 as nulled
    from neutral_legs
    where (is_agent_leg or is_talk_leg) and ended_at < connected_at

    union all

    -- talk of an offer answered by a leg that is no agent leg, over its reversed interval
    select provider, 1 as nulled
    from offer_answers
    where is_talk_negative

    union all

    -- an agent-offered leg's answer delay: connected before it rang (or started)
    select provider, 1 as nulled
    from neutral_legs
    where
        agent_id is not null
        and leg_role <> 'monitor'
        and is_agent_offered_leg
        and connected_at < coalesce(rang_at, started_at)

    union all

    -- a state interval that exits before it entered
    select provider, 1 as nulled
    from leg_states
    where exited_at < entered_at

    union all

    -- a conversation answered before it started
    select provider, 1 as nulled
    from conversations
    where answered_at < started_at

    union all

    -- a conversation's wait: ended before it started, a reversed answer interval, or a
    -- negative difference
    select conversations.provider, 1 as nulled
    from conversations
    left join answer_windows
        on conversations.provider = answer_windows.provider
        and conversations.conversation_id = answer_windows.conversation_id
    where
        conversations.direction = 'inbound'
        and conversations.is_complete
        and (
            conversations.ended_at < conversations.started_at
            or coalesce(answer_windows.reversed_answer_interval_count, 0) > 0
            or {{ ms_between('conversations.started_at', 'conversations.ended_at') }}
                < coalesce(answer_windows.answered_ms, 0)
        )

    union all

    -- an offer's speed to answer: answered before its wait started
    select provider, 1 as nulled
    from offers
    where answered_at < wait_start_at

    union all

    -- an offer's wait: its end (answer, voicemail or end) before its wait started
    select provider, 1 as nulled
    from offers
    where coalesce(answered_at, voicemail_at, ended_at) < wait_start_at

),

negative_duration_facts as (

    select
        provider,
        sum(nulled) as negative_duration_count
    from negative_durations
    group by provider

),

providers as (

    select provider from raw_facts where event_count > 0
    union
    select provider from quarantine_facts where open_quarantine_count > 0
    union
    select provider from pending_facts where pending_line_count > 0

),

final as (

    select
        providers.provider,
        cast(raw_facts.data_watermark_at as {{ dbt.type_timestamp() }}) as data_watermark_at,
        -- greatest skips nulls on DuckDB and Spark alike
        cast(
            greatest(raw_facts.last_loaded_at, quarantine_loads.last_loaded_at, pending_facts.last_loaded_at)
            as {{ dbt.type_timestamp() }}
        ) as last_loaded_at,
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as last_built_at,
        cast(coalesce(raw_facts.event_count, 0) as {{ dbt.type_bigint() }}) as event_count,
        cast(coalesce(conversation_facts.conversation_count, 0) as {{ dbt.type_bigint() }}) as conversation_count,
        cast(coalesce(quarantine_facts.open_quarantine_count, 0) as {{ dbt.type_bigint() }}) as open_quarantine_count,
        cast(coalesce(quarantine_facts.failed_file_count, 0) as {{ dbt.type_bigint() }}) as failed_file_count,
        cast(coalesce(pending_facts.pending_line_count, 0) as {{ dbt.type_bigint() }}) as pending_line_count,
        cast(coalesce(leg_facts.open_leg_count, 0) as {{ dbt.type_bigint() }}) as open_leg_count,
        cast(coalesce(leg_facts.end_inferred_leg_count, 0) as {{ dbt.type_bigint() }}) as end_inferred_leg_count,
        cast(coalesce(reference_only_facts.reference_only_leg_count, 0) as {{ dbt.type_bigint() }})
            as reference_only_leg_count,
        cast(coalesce(estimated_facts.estimated_time_interval_count, 0) as {{ dbt.type_bigint() }})
            as estimated_time_interval_count,
        cast(coalesce(negative_duration_facts.negative_duration_count, 0) as {{ dbt.type_bigint() }})
            as negative_duration_count,
        cast(coalesce(raw_facts.implausible_time_count, 0) as {{ dbt.type_bigint() }}) as implausible_time_count
    from providers
    left join raw_facts
        on providers.provider = raw_facts.provider
    left join quarantine_facts
        on providers.provider = quarantine_facts.provider
    left join quarantine_loads
        on providers.provider = quarantine_loads.provider
    left join pending_facts
        on providers.provider = pending_facts.provider
    left join conversation_facts
        on providers.provider = conversation_facts.provider
    left join leg_facts
        on providers.provider = leg_facts.provider
    left join reference_only_facts
        on providers.provider = reference_only_facts.provider
    left join estimated_facts
        on providers.provider = estimated_facts.provider
    left join negative_duration_facts
        on providers.provider = negative_duration_facts.provider

)

select * from final
