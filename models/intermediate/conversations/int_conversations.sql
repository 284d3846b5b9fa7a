-- One row per conversation (a connected component of the call graph), every provider: every
-- docs/contract.md §5 column of fct_conversations but the repeat-contact ones
-- (int_conversation_repeat_links), aggregated from the provider-neutral legs and answer
-- windows, plus the conversations that have no leg (int_conversations_without_legs).
-- Incremental: the recomputed conversations (int_conversations_to_rebuild; a conversation id
-- that merged away is deleted).

{{ config(
    materialized='incremental',
    unique_key=['provider', 'conversation_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
) }}

{%- set conversation_columns = [
    'provider', 'conversation_id', 'direction', 'started_at', 'ended_at', 'is_complete', 'outcome',
    'was_queued', 'leg_count', 'transfer_count', 'agent_count',
    'first_agent_id', 'first_agent_name', 'first_agent_email',
    'last_agent_id', 'last_agent_name', 'last_agent_email',
    'answered_at', 'time_to_answer_ms', 'wait_ms', 'queue_ms', 'hold_ms', 'talk_ms', 'acw_ms', 'handle_ms',
    'contact_number', 'contact_name', 'entry_target_id', 'entry_target_type', 'entry_target_name',
    'is_recorded', 'recording_count', 'csat_score', 'has_voicemail', 'recap_summary',
] %}

with legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_conversations_to_rebuild') }}

),

answer_windows as (

    {{ rebuild_scope(ref('int_conversation_answer_windows'), 'int_conversations_to_rebuild') }}

),

scoped_legs as (

    -- The legs a conversation's times and completeness are read from: its non-monitor legs
    -- (all its legs in the odd conversation made of monitor legs only).
    select
        legs.*,
        (
            legs.leg_role <> 'monitor'
            or max(case when legs.leg_role <> 'monitor' then 1 else 0 end) over (
                partition by legs.provider, legs.conversation_id
            ) = 0
        ) as is_scoped,
        legs.is_agent_leg and legs.connected_at is not null as is_connected_agent_leg,
        -- talk legs carry talk and hold: every agent leg, and the legs a provider marks as such
        -- (MessageBird: the legs of outbound calls, which carry no agent)
        (legs.is_agent_leg or legs.is_talk_leg) and legs.connected_at is not null as is_connected_talk_leg
    from legs

),

leg_totals as (

    select
        provider,
        conversation_id,
        -- a provider that reports the conversation itself (a MessageBird call) decides its
        -- start, end and completeness; else (Dialpad) its legs do
        coalesce(min(conversation_started_at), min(case when is_scoped then started_at end)) as started_at,
        coalesce(max(conversation_ended_at), max(case when is_scoped then ended_at end)) as last_ended_at,
        coalesce(
            {{ dbt.bool_or('is_conversation_complete') }},
            sum(case when is_scoped and ended_at is null then 1 else 0 end) = 0
        ) as is_complete,
        {{ dbt.bool_or("was_queued or leg_role = 'entry_point'") }} as was_queued,
        sum(case when leg_role <> 'monitor' then 1 else 0 end) as leg_count,
        sum(transfer_point_count) as transfer_count,
        count(distinct case when is_connected_agent_leg then agent_id end) as agent_count,
        case
            when count(*) = count(queue_ms) then coalesce(sum(queue_ms), 0)
        end as queue_ms,
        sum(case when is_connected_talk_leg then 1 else 0 end) as connected_talk_leg_count,
        sum(case when is_connected_talk_leg and hold_ms is null then 1 else 0 end) as unknown_hold_count,
        sum(case when is_connected_talk_leg and talk_ms is null then 1 else 0 end) as unknown_talk_count,
        sum(case when is_connected_talk_leg then hold_ms end) as known_hold_ms,
        sum(case when is_connected_talk_leg then talk_ms end) as known_talk_ms,
        -- after-call work: the sum over the legs whose ACW is known, null only when none is
        sum(case when is_connected_agent_leg then acw_ms end) as acw_ms,
        {{ dbt.bool_or('was_recorded') }} as is_recorded,
        sum(recording_count) as recording_count,
        {{ dbt.bool_or('has_voicemail') }} as has_voicemail
    from scoped_legs
    group by provider, conversation_id

),

ranked_first_legs as (

    -- the conversation's first leg: its earliest non-monitor leg by started_at (ties: the
    -- smaller id); on Dialpad, the leg the conversation is named after
    select
        scoped_legs.*,
        row_number() over (
            partition by scoped_legs.provider, scoped_legs.conversation_id
            order by
                case when scoped_legs.is_scoped then 0 else 1 end,
                case when scoped_legs.started_at is null then 1 else 0 end,
                scoped_legs.started_at,
                scoped_legs.leg_sort_key
        ) as first_leg_rank
    from scoped_legs

),

first_legs as (

    select * from ranked_first_legs where first_leg_rank = 1

),

ranked_agent_legs as (

    select
        provider,
        conversation_id,
        agent_id,
        agent_name,
        agent_email,
        row_number() over (
            partition by provider, conversation_id
            order by connected_at, leg_sort_key
        ) as first_rank,
        row_number() over (
            partition by provider, conversation_id
            order by connected_at desc, leg_sort_key desc
        ) as last_rank
    from scoped_legs
    where is_connected_agent_leg

),

ranked_csat as (

    select
        provider,
        conversation_id,
        csat_score,
        row_number() over (
            partition by provider, conversation_id
            order by csat_at desc, leg_sort_key desc
        ) as csat_rank
    from legs
    where csat_score is not null

),

ranked_recaps as (

    select
        provider,
        conversation_id,
        recap_summary,
        row_number() over (
            partition by provider, conversation_id
            order by recap_at desc, leg_sort_key desc
        ) as recap_rank
    from legs
    where recap_summary is not null

),

joined as (

    select
        leg_totals.*,
        first_legs.direction,
        first_legs.was_blocked as is_first_leg_blocked,
        first_legs.contact_number,
        first_legs.contact_name,
        first_legs.target_id as entry_target_id,
        first_legs.target_type as entry_target_type,
        first_legs.target_name as entry_target_name,
        first_agents.agent_id as first_agent_id,
        first_agents.agent_name as first_agent_name,
        first_agents.agent_email as first_agent_email,
        last_agents.agent_id as last_agent_id,
        last_agents.agent_name as last_agent_name,
        last_agents.agent_email as last_agent_email,
        answer_windows.answered_at,
        answer_windows.answered_ms,
        answer_windows.reversed_answer_interval_count,
        ranked_csat.csat_score,
        ranked_recaps.recap_summary
    from leg_totals
    left join first_legs
        on leg_totals.provider = first_legs.provider
        and leg_totals.conversation_id = first_legs.conversation_id
    left join ranked_agent_legs as first_agents
        on leg_totals.provider = first_agents.provider
        and leg_totals.conversation_id = first_agents.conversation_id
        and first_agents.first_rank = 1
    left join ranked_agent_legs as last_agents
        on leg_totals.provider = last_agents.provider
        and leg_totals.conversation_id = last_agents.conversation_id
        and last_agents.last_rank = 1
    left join answer_windows
        on leg_totals.provider = answer_windows.provider
        and leg_totals.conversation_id = answer_windows.conversation_id
    left join ranked_csat
        on leg_totals.provider = ranked_csat.provider
        and leg_totals.conversation_id = ranked_csat.conversation_id
        and ranked_csat.csat_rank = 1
    left join ranked_recaps
        on leg_totals.provider = ranked_recaps.provider
        and leg_totals.conversation_id = ranked_recaps.conversation_id
        and ranked_recaps.recap_rank = 1

),

measured as (

    select
        joined.*,
        case when joined.is_complete then joined.last_ended_at end as ended_at,
        case
            when joined.connected_talk_leg_count > 0 and joined.unknown_hold_count = 0
                then joined.known_hold_ms
        end as hold_ms,
        case
            when joined.connected_talk_leg_count > 0 and joined.unknown_talk_count = 0
                then joined.known_talk_ms
        end as talk_ms,
        -- wait (inbound, complete): the elapsed time minus the union of the answer intervals;
        -- unknown when the conversation ended before it started or an answer interval ends
        -- before it starts (docs/contract.md §9 "Impossible times"), and when it comes out negative
        case
            when joined.direction = 'inbound' and joined.is_complete
                and joined.last_ended_at >= joined.started_at
                and coalesce(joined.reversed_answer_interval_count, 0) = 0
                then {{ ms_between('joined.started_at', 'joined.last_ended_at') }} - coalesce(joined.answered_ms, 0)
        end as elapsed_minus_answered_ms
    from joined

),

leg_conversations as (

    select
        provider,
        conversation_id,
        direction,
        started_at,
        ended_at,
        is_complete,
        case
            when answered_at is not null then 'answered'
            when not is_complete then 'in_progress'
            when has_voicemail then 'voicemail'
            when coalesce(is_first_leg_blocked, false) then 'blocked'
            when direction = 'inbound' then 'missed'
            when direction = 'outbound' then 'no_answer'
            else 'unknown'
        end as outcome,
        was_queued,
        cast(leg_count as {{ dbt.type_int() }}) as leg_count,
        cast(transfer_count as {{ dbt.type_int() }}) as transfer_count,
        cast(agent_count as {{ dbt.type_int() }}) as agent_count,
        first_agent_id,
        first_agent_name,
        first_agent_email,
        last_agent_id,
        last_agent_name,
        last_agent_email,
        answered_at,
        {{ nonnegative_ms_between('started_at', 'answered_at') }} as time_to_answer_ms,
        case when elapsed_minus_answered_ms >= 0 then elapsed_minus_answered_ms end as wait_ms,
        cast(queue_ms as {{ dbt.type_bigint() }}) as queue_ms,
        cast(hold_ms as {{ dbt.type_bigint() }}) as hold_ms,
        cast(talk_ms as {{ dbt.type_bigint() }}) as talk_ms,
        cast(acw_ms as {{ dbt.type_bigint() }}) as acw_ms,
        cast(talk_ms + coalesce(hold_ms, 0) + coalesce(acw_ms, 0) as {{ dbt.type_bigint() }}) as handle_ms,
        contact_number,
        contact_name,
        entry_target_id,
        entry_target_type,
        entry_target_name,
        is_recorded,
        cast(recording_count as {{ dbt.type_int() }}) as recording_count,
        csat_score,
        has_voicemail,
        recap_summary
    from measured

),

conversations_without_legs as (

    -- conversations with no leg (a MessageBird call whose legs never arrived, docs/contract.md §8):
    -- already in these columns (int_conversations_without_legs)
    {{ rebuild_scope(ref('int_conversations_without_legs'), 'int_conversations_to_rebuild') }}

),

final as (

    select {{ conversation_columns | join(', ') }} from leg_conversations
    union all
    select {{ conversation_columns | join(', ') }} from conversations_without_legs

)

select * from final
