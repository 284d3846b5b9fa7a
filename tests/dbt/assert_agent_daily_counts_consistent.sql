-- Contract invariant: the daily agent counts nest (answered and missed legs within offered,
-- connected outbound within outbound, first/last-agent and resolved conversations within
-- handled ones, transfers within handled legs, the legs an average counts within the legs it
-- averages over), averages are their shipped numerator over their shipped denominator, no
-- duration is negative (docs/contract.md §9 "Impossible times"), and the conversation counts add up to
-- fct_conversations' own first and last agents.
-- Severity error: our own aggregation; no vendor data can make these counts disagree.
{{ config(severity='error') }}

with daily as (

    select * from {{ ref('agg_agent_daily') }}

),

conversations as (

    select * from {{ ref('fct_conversations') }}

),

first_last_totals as (

    select
        provider,
        sum(case when first_agent_id is not null then 1 else 0 end) as first_agent_count,
        sum(case when last_agent_id is not null then 1 else 0 end) as last_agent_count
    from conversations
    group by provider

),

daily_totals as (

    select
        provider,
        sum(conversations_as_first_agent_count) as first_agent_count,
        sum(conversations_as_last_agent_count) as last_agent_count
    from daily
    group by provider

),

inconsistent_rows as (

    select
        provider,
        cast(agent_id as {{ dbt.type_string() }}) as problem
    from daily
    where
        answered_leg_count + missed_leg_count > offered_leg_count
        or outbound_connected_leg_count > outbound_leg_count
        or conversations_as_first_agent_count > conversations_handled_count
        or conversations_as_last_agent_count > conversations_handled_count
        or first_contact_resolved_count > conversations_handled_count
        or transfers_out_count > handled_leg_count
        or fcr_rate < 0 or fcr_rate > 1
        or transfer_rate < 0 or transfer_rate > 1
        or handle_known_leg_count > handled_leg_count
        or answer_delay_known_leg_count > answered_leg_count
        or talk_ms < 0 or hold_ms < 0 or acw_ms < 0 or handle_ms < 0 or answer_delay_ms_sum < 0
        or coalesce(aht_ms, -1) <> coalesce(cast(handle_ms as double) / nullif(handle_known_leg_count, 0), -1)
        or coalesce(avg_answer_delay_ms, -1)
            <> coalesce(cast(answer_delay_ms_sum as double) / nullif(answer_delay_known_leg_count, 0), -1)

),

mismatched_totals as (

    select
        first_last_totals.provider,
        'first/last agent totals differ from fct_conversations' as problem
    from first_last_totals
    left join daily_totals
        on first_last_totals.provider = daily_totals.provider
    where
        coalesce(daily_totals.first_agent_count, 0) <> first_last_totals.first_agent_count
        or coalesce(daily_totals.last_agent_count, 0) <> first_last_totals.last_agent_count

)

select * from inconsistent_rows
union all
select * from mismatched_totals
