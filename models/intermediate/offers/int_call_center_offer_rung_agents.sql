-- Provider-neutral: per offer (an entry point leg), the distinct agents it was offered to:
-- agents of its ring_attempt and operator legs (a leg naming it as entry_point_call_id, or
-- operating it). Offers no agent was rung for have no row.
-- Incremental: the offers among the legs of the recomputed conversations.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'offer_id'],
    rebuild_set={
        'key': 'provider, offer_id', 'keys_model': 'int_legs_to_rebuild', 'keys_columns': 'provider, leg_id',
    },
) }}

with legs as (

    {{ rebuild_scope(ref('int_legs'), 'int_legs_to_rebuild') }}

),

offers as (

    select
        provider,
        leg_id as offer_id
    from legs
    where leg_role = 'entry_point'

),

rung_legs as (

    select
        provider,
        coalesce(operated_entry_point_leg_id, entry_point_call_id) as offer_id,
        agent_id
    from legs
    where
        leg_role in ('ring_attempt', 'operator')
        and agent_id is not null

),

final as (

    select
        offers.provider,
        offers.offer_id,
        cast(count(distinct rung_legs.agent_id) as {{ dbt.type_int() }}) as rung_agent_count
    from offers
    inner join rung_legs
        on offers.provider = rung_legs.provider
        and offers.offer_id = rung_legs.offer_id
    group by offers.provider, offers.offer_id

)

select * from final
