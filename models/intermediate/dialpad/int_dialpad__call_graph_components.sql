-- Dialpad: the connected components of the call graph (edges undirected, any depth), one row
-- per node: every leg with events and every id known only as another leg's reference.
-- component_id is the smallest leg id of the component: a label, not the conversation id.
-- Incremental: the components of the legs with new events, computed over the whole edge set
-- (a late leg can merge two components; components never split).

{#- written_rows: the components of the changed legs; its data tests read those legs' rows
    (assert_call_graph_components_closed checks every component, every build) -#}
{{ config(
    materialized='incremental',
    unique_key='leg_id',
    written_rows={'key': 'leg_id', 'keys_model': 'int_dialpad__changed_legs'},
) }}
{{ depends_on_change_set('int_dialpad__changed_legs') }}

{#- the graph, as CTEs the connected_components macro can also run on their own (Spark) -#}
{%- set graph_ctes -%}
edges as (

    select leg_id, referenced_leg_id from {{ ref('int_dialpad__call_graph_edges') }}

),

legs as (

    select leg_id from {{ ref('int_dialpad__call_legs') }}

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

)
{%- endset %}

with {{ graph_ctes }},

components as (

    -- every node of the start nodes' components, with the smallest leg id it is connected to
    -- at any depth (macros/cross_engine/connected_components.sql)
    {{ connected_components(
        graph_ctes, 'nodes', 'leg_id', 'undirected_edges', 'from_leg_id', 'to_leg_id', 'start_nodes'
    ) }}

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
