-- Dialpad: the call graph's edges. Every non-empty master_call_id, entry_point_call_id and
-- operator_call_id on any event of a leg is an edge from that leg to the leg it names (an id
-- equal to the leg's own is ignored). Directed here; components take them undirected.
-- Incremental: the edges of the legs with new events (events are never removed, so a leg's
-- edges only grow).

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    written_rows={'key': 'leg_id', 'keys_model': 'int_dialpad__changed_legs'},
) }}

with events as (

    {{ rebuild_scope(ref('int_dialpad__call_events_ordered'), 'int_dialpad__changed_legs') }}

),

named_legs as (

    select leg_id, master_call_id as referenced_leg_id, 'master' as reference_type
    from events
    where master_call_id is not null

    union all

    select leg_id, entry_point_call_id as referenced_leg_id, 'entry_point' as reference_type
    from events
    where entry_point_call_id is not null

    union all

    select leg_id, operator_call_id as referenced_leg_id, 'operator' as reference_type
    from events
    where operator_call_id is not null

),

final as (

    select distinct
        leg_id,
        referenced_leg_id,
        reference_type
    from named_legs
    where referenced_leg_id <> leg_id

)

select * from final
