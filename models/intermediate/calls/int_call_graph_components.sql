-- Dialpad: the connected components of the call graph (edges undirected, any depth), one row
-- per node: every leg with events and every id known only as another leg's reference.
-- component_id is the smallest leg id of the component: a label, not the conversation id.
-- Incremental: the components of the legs with new events, found by walking the whole edge
-- set from those legs (a late leg can merge two components; components never split).

{{ config(materialized='incremental', unique_key='leg_id') }}
{{ depends_on_change_set('int_dialpad__changed_legs') }}

with recursive edges as (

    select leg_id, referenced_leg_id from {{ ref('int_call_graph_edges') }}

),

legs as (

    select leg_id from {{ ref('int_call_legs') }}

),

nodes as (

    select leg_id from legs
    union
    select leg_id from edges
    union
    select referenced_leg_id as leg_id from edges

),

undirected_edges as (

    select leg_id as from_leg_id, referenced_leg_id as to_leg_id from edges
    union
    select referenced_leg_id as from_leg_id, leg_id as to_leg_id from edges

),

start_nodes as (

    -- every node (full build), or the legs with new events (incremental build)
    {%- if is_incremental() %}
    select leg_id from {{ ref('int_dialpad__changed_legs') }}
    {%- else %}
    select leg_id from nodes
    {%- endif %}

),

reachable (start_leg_id, reachable_leg_id) as (

    -- Every start node reaches itself; then one more edge per step. UNION (not UNION ALL)
    -- keeps each pair once, so the recursion stops on cycles as soon as no new pair appears.
    select leg_id as start_leg_id, leg_id as reachable_leg_id from start_nodes

    union

    select reachable.start_leg_id, undirected_edges.to_leg_id as reachable_leg_id
    from reachable
    inner join undirected_edges
        on reachable.reachable_leg_id = undirected_edges.from_leg_id

),

start_components as (

    select
        start_leg_id,
        min(reachable_leg_id) as component_id
    from reachable
    group by start_leg_id

),

components as (

    -- every node a start node reaches is in its component (the start nodes that reach a node
    -- all share it)
    select
        reachable.reachable_leg_id as leg_id,
        min(start_components.component_id) as component_id
    from reachable
    inner join start_components
        on reachable.start_leg_id = start_components.start_leg_id
    group by reachable.reachable_leg_id

),

final as (

    select
        components.leg_id,
        components.component_id,
        legs.leg_id is not null as has_events
    from components
    left join legs
        on components.leg_id = legs.leg_id

)

select * from final
