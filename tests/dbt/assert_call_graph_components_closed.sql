-- Contract invariant (docs/contract.md §4): components are closed under the call graph's edges. Every
-- edge joins two nodes of one component, and each component's label is its smallest leg id
-- (the label of that leg itself). On Spark the components come from label propagation
-- (macros/cross_engine/connected_components.sql): a propagation stopped before its fixed
-- point leaves an edge between two labels, and fails here.
-- Severity error: our own graph computation; any vendor graph has closed components.
{{ config(severity='error') }}

with edges as (

    select * from {{ ref('int_dialpad__call_graph_edges') }}

),

components as (

    select * from {{ ref('int_dialpad__call_graph_components') }}

),

split_edges as (

    select
        edges.leg_id,
        edges.referenced_leg_id,
        from_components.component_id as leg_component_id,
        to_components.component_id as referenced_leg_component_id
    from edges
    left join components as from_components
        on edges.leg_id = from_components.leg_id
    left join components as to_components
        on edges.referenced_leg_id = to_components.leg_id
    where
        from_components.component_id is null
        or to_components.component_id is null
        or from_components.component_id <> to_components.component_id

),

mislabelled_components as (

    -- a label that is not the smallest node of its component, or not a node labelled itself
    select
        components.component_id as leg_id,
        cast(null as {{ dbt.type_bigint() }}) as referenced_leg_id,
        components.component_id as leg_component_id,
        min(components.leg_id) as referenced_leg_component_id
    from components
    left join components as labels
        on components.component_id = labels.leg_id
        and labels.component_id = labels.leg_id
    group by components.component_id
    having
        min(components.leg_id) <> components.component_id
        or max(case when labels.leg_id is null then 1 else 0 end) = 1

)

select * from split_edges
union all
select * from mislabelled_components
