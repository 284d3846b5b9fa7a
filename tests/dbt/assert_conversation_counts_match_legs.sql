-- Contract invariant: leg_count is the number of the conversation's non-monitor legs in
-- fct_call_legs, and agents are named exactly when some agent connected.
-- Severity error: our own counting; no vendor data can make it disagree.
{{ config(severity='error') }}

with legs as (

    select
        provider,
        conversation_id,
        sum(case when leg_role <> 'monitor' then 1 else 0 end) as non_monitor_leg_count
    from {{ ref('fct_call_legs') }}
    group by provider, conversation_id

),

conversations as (

    select * from {{ ref('fct_conversations') }}

)

select
    conversations.provider,
    conversations.conversation_id,
    conversations.leg_count,
    legs.non_monitor_leg_count,
    conversations.agent_count,
    conversations.first_agent_id
from conversations
left join legs
    on conversations.provider = legs.provider
    and conversations.conversation_id = legs.conversation_id
where
    conversations.leg_count <> coalesce(legs.non_monitor_leg_count, 0)
    or (conversations.agent_count = 0) <> (conversations.first_agent_id is null)
    or (conversations.agent_count = 0) <> (conversations.last_agent_id is null)
