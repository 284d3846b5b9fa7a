-- One row per agent (per provider) seen on any agent leg or agent-offered leg
-- (docs/contract.md §6 `dim_agents`). Attributes come whole from the agent's latest leg.

with legs as (

    select * from {{ ref('int_legs') }}

),

agent_legs as (

    select
        provider,
        agent_id,
        agent_name,
        agent_email,
        agent_office_id,
        started_at,
        coalesce(ended_at, started_at) as seen_until_at,
        row_number() over (
            partition by provider, agent_id
            order by
                case when started_at is null then 0 else 1 end desc,
                started_at desc,
                leg_sort_key desc
        ) as recency_rank
    from legs
    where (is_agent_leg or is_agent_offered_leg) and agent_id is not null

),

seen as (

    select
        provider,
        agent_id,
        min(started_at) as first_seen_at,
        max(seen_until_at) as last_seen_at
    from agent_legs
    group by provider, agent_id

),

final as (

    select
        seen.provider,
        seen.agent_id,
        agent_legs.agent_name as name,
        agent_legs.agent_email as email,
        agent_legs.agent_office_id as office_id,
        seen.first_seen_at,
        seen.last_seen_at
    from seen
    inner join agent_legs
        on seen.provider = agent_legs.provider
        and seen.agent_id = agent_legs.agent_id
        and agent_legs.recency_rank = 1

)

select * from final
