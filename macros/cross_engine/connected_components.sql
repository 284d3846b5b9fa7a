{#-
    Connected components of an undirected graph: a subquery with one row per node, the node's
    id (named `node_id`, as given) and `component_id`, the smallest node id of its component.

    - `ctes`: the SQL text of the CTEs (without `with`) that define `nodes` and `edges`; the
      calling model puts the same text in its own `with` clause.
    - `nodes`, `node_id`: the CTE of every node and its id column (distinct ids, not null).
    - `edges`, `from_id`, `to_id`: the CTE of edges, both directions listed (a -> b and b -> a).

    DuckDB (default): a recursive CTE of every (node, reachable node) pair, UNION keeping each
    pair once so the recursion stops on cycles; then the smallest reachable id per node.

    Spark: a recursive CTE may neither aggregate nor use UNION (Spark 4.x), so the components
    come from label propagation run by dbt itself while the model compiles: every node starts
    with its own id as its label; each round a node takes the smallest label among itself and
    its neighbours; rounds go on until no label changes (a fixed point: every edge joins equal
    labels, and each label is its component's smallest id). Each round is a cached temporary
    view of the same Spark session, and the model's SQL reads the last one. The number of
    rounds is the longest shortest path in a component plus one; more than the dbt var
    `connected_components_max_rounds` (default 100) is an error, never a silent early stop
    (tests/dbt/assert_call_graph_components_closed.sql checks the result on every engine).

    A dbt unit test cannot run rounds (its inputs are CTEs only the final query sees), so there
    the Spark macro inlines a fixed `unit_test_rounds` (default 8) rounds of the same
    propagation: enough for any fixture of diameter below 8, and a fixture that needs more
    fails its expected rows.
-#}
{% macro connected_components(ctes, nodes, node_id, edges, from_id, to_id) -%}
    {{ return(adapter.dispatch('connected_components')(ctes, nodes, node_id, edges, from_id, to_id)) }}
{%- endmacro %}


{% macro default__connected_components(ctes, nodes, node_id, edges, from_id, to_id) -%}
    select
        {{ node_id }},
        min(reachable_node_id) as component_id
    from (
        with recursive reachable (node_id, reachable_node_id) as (
            -- every node reaches itself; then one more edge per step
            select {{ node_id }} as node_id, {{ node_id }} as reachable_node_id from {{ nodes }}

            union

            select reachable.node_id, {{ edges }}.{{ to_id }} as reachable_node_id
            from reachable
            inner join {{ edges }}
                on reachable.reachable_node_id = {{ edges }}.{{ from_id }}
        )

        select node_id as {{ node_id }}, reachable_node_id from reachable
    ) as reachable_pairs
    group by {{ node_id }}
{%- endmacro %}


{#- One round of label propagation from the labels of `labels` (node_id, label). -#}
{% macro _connected_components_round(labels, edges) -%}
    select
        labels.node_id,
        least(labels.label, coalesce(min(neighbours.label), labels.label)) as label
    from {{ labels }} as labels
    left join {{ edges }} as edges
        on labels.node_id = edges.from_id
    left join {{ labels }} as neighbours
        on edges.to_id = neighbours.node_id
    group by labels.node_id, labels.label
{%- endmacro %}


{% macro spark__connected_components(ctes, nodes, node_id, edges, from_id, to_id, unit_test_rounds=8) -%}
    {%- set initial_labels -%}
        select {{ node_id }} as node_id, {{ node_id }} as label from {{ nodes }}
    {%- endset -%}
    {%- set distinct_edges -%}
        select distinct {{ from_id }} as from_id, {{ to_id }} as to_id from {{ edges }}
    {%- endset -%}

    {%- if not execute or model.resource_type == 'unit_test' -%}
        {#- parsing, or a unit test: a fixed number of rounds, inline -#}
        select node_id as {{ node_id }}, label as component_id
        from (
            with cc_edges as (
                {{ distinct_edges }}
            ),

            cc_labels_0 as (
                {{ initial_labels }}
            ),
            {%- for round in range(1, unit_test_rounds + 1) %}

            cc_labels_{{ round }} as (
                {{ _connected_components_round('cc_labels_' ~ (round - 1), 'cc_edges') }}
            ){% if not loop.last %},{% endif %}
            {%- endfor %}

            select * from cc_labels_{{ unit_test_rounds }}
        ) as propagated
    {%- else -%}
        {%- set max_rounds = var('connected_components_max_rounds', 100) | int -%}
        {%- set prefix = this.identifier ~ '__cc' -%}
        {%- set edges_view = prefix ~ '_edges' -%}

        {%- do _connected_components_drop(edges_view) -%}
        {%- do run_query('cache table ' ~ edges_view ~ ' as with ' ~ ctes ~ ' ' ~ distinct_edges) -%}
        {%- do _connected_components_drop(prefix ~ '_labels_0') -%}
        {%- do run_query('cache table ' ~ prefix ~ '_labels_0 as with ' ~ ctes ~ ' ' ~ initial_labels) -%}

        {%- set state = namespace(round=0, converged=false) -%}
        {%- for round in range(1, max_rounds + 1) if not state.converged -%}
            {%- set previous = prefix ~ '_labels_' ~ (round - 1) -%}
            {%- set current = prefix ~ '_labels_' ~ round -%}
            {%- do _connected_components_drop(current) -%}
            {%- do run_query(
                'cache table ' ~ current ~ ' as '
                ~ _connected_components_round(previous, edges_view)
            ) -%}
            {%- set changed = run_query(
                'select count(*) from ' ~ current ~ ' as current_labels'
                ~ ' inner join ' ~ previous ~ ' as previous_labels'
                ~ ' on current_labels.node_id = previous_labels.node_id'
                ~ ' where current_labels.label <> previous_labels.label'
            ).columns[0].values()[0] -%}
            {%- do _connected_components_drop(previous) -%}
            {%- set state.round = round -%}
            {%- if changed == 0 -%}
                {%- set state.converged = true -%}
            {%- endif -%}
        {%- endfor -%}

        {%- do _connected_components_drop(edges_view) -%}
        {%- if not state.converged -%}
            {{ exceptions.raise_compiler_error(
                "connected_components: labels still changing after " ~ max_rounds ~ " rounds in "
                ~ this ~ "; raise the dbt var connected_components_max_rounds"
            ) }}
        {%- endif -%}
        {{ log("connected_components: " ~ this ~ " converged after " ~ state.round ~ " rounds", info=false) }}

        select node_id as {{ node_id }}, label as component_id
        from {{ prefix }}_labels_{{ state.round }}
    {%- endif -%}
{%- endmacro %}


{% macro _connected_components_drop(view_name) -%}
    {%- do run_query('uncache table if exists ' ~ view_name) -%}
    {%- do run_query('drop view if exists ' ~ view_name) -%}
{%- endmacro %}
