-- Provider-neutral: per conversation with an answer interval, the earliest answer
-- (answered_at) and the length of the union of its answer intervals ([connected_at, ended_at]
-- of its answer legs); answered_ms is null while an answer interval is still open, and when
-- one ends before it starts (not a valid interval: docs/contract.md §9 "Impossible times"; the answer
-- still happened, so answered_at counts it).
-- Incremental: the recomputed conversations (int_conversations_to_rebuild).

{{ config(
    materialized='incremental',
    unique_key=['provider', 'conversation_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_conversations_to_rebuild') }}

),

answer_intervals as (

    select
        provider,
        conversation_id,
        connected_at,
        ended_at
    from legs
    where is_answer_leg

),

closed_answer_intervals as (

    -- an interval that ends before it starts is no interval (a vendor clock error): left out
    -- of the union, it makes answered_ms unknown
    select * from answer_intervals where ended_at >= connected_at

),

merged_answer_intervals as (

    select * from {{ merge_intervals(
        'closed_answer_intervals',
        ['provider', 'conversation_id'],
        'connected_at',
        'ended_at'
    ) }} as merged

),

merged_totals as (

    select
        provider,
        conversation_id,
        cast(sum({{ ms_between('merged_start_at', 'merged_end_at') }}) as {{ dbt.type_bigint() }}) as merged_answered_ms
    from merged_answer_intervals
    group by provider, conversation_id

),

conversation_answers as (

    select
        provider,
        conversation_id,
        min(connected_at) as answered_at,
        cast(count(*) as {{ dbt.type_int() }}) as answer_interval_count,
        sum(case when ended_at is null then 1 else 0 end) as open_answer_interval_count,
        sum(case when ended_at < connected_at then 1 else 0 end) as reversed_answer_interval_count
    from answer_intervals
    group by provider, conversation_id

),

final as (

    select
        conversation_answers.provider,
        conversation_answers.conversation_id,
        conversation_answers.answered_at,
        conversation_answers.answer_interval_count,
        cast(conversation_answers.reversed_answer_interval_count as {{ dbt.type_int() }})
            as reversed_answer_interval_count,
        case
            when conversation_answers.open_answer_interval_count = 0
                and conversation_answers.reversed_answer_interval_count = 0
                then coalesce(merged_totals.merged_answered_ms, cast(0 as {{ dbt.type_bigint() }}))
        end as answered_ms
    from conversation_answers
    left join merged_totals
        on conversation_answers.provider = merged_totals.provider
        and conversation_answers.conversation_id = merged_totals.conversation_id

)

select * from final
