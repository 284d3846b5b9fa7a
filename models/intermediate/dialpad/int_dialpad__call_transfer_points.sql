-- Dialpad: one row per transfer point (docs/contract.md §4 "Transfers"): an answered entry point whose
-- own leg or operator leg is_transferred (the entry point and its operator make one point), or
-- a connected direct agent leg that is_transferred. Legs no agent answered never count.
-- The point is carried by the entry point leg, or by its operator leg when the entry point is
-- known only by reference, or by the direct agent leg.
-- Incremental: the conversations of the recomputed components (their old conversation
-- ids, which are among the components' leg ids, included).

{{ config(
    materialized='incremental',
    unique_key='conversation_id',
    rebuild_set={
        'key': 'conversation_id', 'keys_model': 'int_dialpad__legs_to_rebuild', 'keys_columns': 'leg_id',
    },
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

candidates as (

    -- entry points: answered when connected and naming an operator
    select
        leg_id as transfer_point_key,
        leg_id,
        conversation_id,
        'entry_point' as transfer_point_type,
        coalesce(connected_at is not null and names_operator, false) as is_answered,
        is_transferred
    from legs
    where leg_role = 'entry_point'

    union all

    -- operators: answer (and may transfer) the entry point they operate
    select
        operated_entry_point_leg_id as transfer_point_key,
        leg_id,
        conversation_id,
        'entry_point' as transfer_point_type,
        connected_at is not null as is_answered,
        is_transferred
    from legs
    where leg_role = 'operator' and operated_entry_point_leg_id is not null

    union all

    -- direct agent legs
    select
        leg_id as transfer_point_key,
        leg_id,
        conversation_id,
        'direct_agent_leg' as transfer_point_type,
        connected_at is not null as is_answered,
        is_transferred
    from legs
    where leg_role = 'direct' and is_agent_leg

),

points as (

    select
        transfer_point_key,
        conversation_id,
        max(transfer_point_type) as transfer_point_type,
        min(leg_id) as smallest_leg_id
    from candidates
    group by transfer_point_key, conversation_id
    having
        max(case when is_answered then 1 else 0 end) = 1
        and max(case when is_transferred then 1 else 0 end) = 1

),

final as (

    select
        points.conversation_id,
        points.transfer_point_key as transfer_point_id,
        points.transfer_point_type,
        case
            when entry_legs.leg_id is not null then points.transfer_point_key
            else points.smallest_leg_id
        end as leg_id
    from points
    left join legs as entry_legs
        on points.transfer_point_key = entry_legs.leg_id

)

select * from final
