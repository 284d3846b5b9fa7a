{#-
    Connected components of an undirected graph: a subquery with one row per node of every
    component that holds a start node, the node's id (named `node_id`, as given) and
    `component_id`, the smallest node id of its component.

    - `ctes`: the SQL text of the CTEs (without `with`) that define `nodes`, `edges` and
      `start_nodes`; the calling model puts the same text in its own `with` clause.
    - `nodes`, `node_id`: the CTE of every node and its id column (distinct ids, not null).
    - `edges`, `from_id`, `to_id`: the CTE of edges, both directions listed (a -> b and b -> a).
    - `start_nodes`: the CTE of the nodes whose components are wanted (its id column is named
      `node_id` too): every node for a full build, the changed ones for an incremental build.

    DuckDB (default): a recursive CTE of every (start node, reachable node) pair, UNION keeping
    each pair once so the recursion stops on cycles; a start node's component id is the
    smallest id it reaches, and every node it reaches belongs to that component.

    Spark: a recursive CTE may neither aggregate nor use UNION (Spark 4.x), so the components
    come from label propagation over the whole graph, run by dbt itself while the model
    compiles: every node starts with its own id as its label; each round a node takes the
    smallest label among itself and its neighbours; rounds go on until no label changes (a
    fixed point: every edge joins equal labels, and each label is its component's smallest
    id). The components holding a start node are kept. Each round is written to Parquet in a
    scratch folder and read back by the next, so a round's plan stays one join whatever the
    rounds before it (a chain of views or cached views makes Spark re-analyse every earlier
    round, slower at each round); the model's SQL reads the last round. The number of rounds
    is the longest shortest path in a component plus one; more than the dbt var
    `connected_components_max_rounds` (default 100) is an error, never a silent early stop
    (tests/dbt/assert_call_graph_components_closed.sql checks the result on every engine).

    A dbt unit test cannot run rounds (its inputs are CTEs only the final query sees), so there
    the Spark macro inlines a fixed `unit_test_rounds` (default 8) rounds of the same
    propagation: enough for any fixture of diameter below 8, and a fixture that needs more
    fails its expected rows.
-#}
{% macro connected_components(ctes, nodes, node_id, edges, from_id, to_id, start_nodes) -%}
    {{ return(adapter.dispatch('connected_components')(ctes, nodes, node_id, edges, from_id, to_id, start_nodes)) }}
{%- endmacro %}


{% macro default__connected_components(ctes, nodes, node_id, edges, from_id, to_id, start_nodes) -%}
    select node_id as {{ node_id }}, component_id
    from (
        with recursive reachable (start_node_id, reachable_node_id) as (
            -- every start node reaches itself; then one more edge per step
            select {{ node_id }} as start_node_id, {{ node_id }} as reachable_node_id
            from {{ start_nodes }}

            union

            select reachable.start_node_id, {{ edges }}.{{ to_id }} as reachable_node_id
            from reachable
            inner join {{ edges }}
                on reachable.reachable_node_id = {{ edges }}.{{ from_id }}
        ),

        start_components as (
            -- a start node's component id: the smallest node it reaches
            select start_node_id, min(reachable_node_id) as component_id
            from reachable
            group by start_node_id
        )

        -- every node a start node reaches is in its component (the start nodes that reach a
        -- node all share it)
        select
            reachable.reachable_node_id as node_id,
            min(start_components.component_id) as component_id
        from reachable
        inner join start_components
            on reachable.start_node_id = start_components.start_node_id
        group by reachable.reachable_node_id
    ) as components
{%- endmacro %}


{#-
    One round of label propagation: each node takes the smallest label among itself and its
    neighbours in `labels` (node_id, label). `edges` (from_id, to_id) lists every node's
    self-loop too, so the round reads `labels` once: a chain of rounds stays a chain, where
    a second reference per round would double the plan Spark analyses at every round.
-#}
{% macro _connected_components_round(labels, edges) -%}
    select
        edges.from_id as node_id,
        min(labels.label) as label
    from {{ edges }} as edges
    inner join {{ labels }} as labels
        on edges.to_id = labels.node_id
    group by edges.from_id
{%- endmacro %}


{% macro spark__connected_components(ctes, nodes, node_id, edges, from_id, to_id, start_nodes, unit_test_rounds=8) -%}
    {%- set initial_labels -%}
        select {{ node_id }} as node_id, {{ node_id }} as label from {{ nodes }}
    {%- endset -%}
    {%- set distinct_edges -%}
        select {{ from_id }} as from_id, {{ to_id }} as to_id from {{ edges }}
        union
        select {{ node_id }} as from_id, {{ node_id }} as to_id from {{ nodes }}
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
            {{ _connected_components_started('cc_labels_' ~ unit_test_rounds, start_nodes, node_id) }}
        ) as propagated
    {%- else -%}
        {%- set max_rounds = var('connected_components_max_rounds', 100) | int -%}
        {%- set scratch = _connected_components_scratch() -%}
        {%- set edges_path = scratch ~ '/edges' -%}

        {%- do _connected_components_write(edges_path, 'with ' ~ ctes ~ ' ' ~ distinct_edges) -%}
        {%- do _connected_components_write(scratch ~ '/labels_0', 'with ' ~ ctes ~ ' ' ~ initial_labels) -%}

        {%- set state = namespace(round=0, converged=false) -%}
        {%- for round in range(1, max_rounds + 1) if not state.converged -%}
            {#- two label folders in turn: a round reads one and overwrites the other -#}
            {%- set previous = 'parquet.`' ~ scratch ~ '/labels_' ~ ((round - 1) % 2) ~ '`' -%}
            {%- set current_path = scratch ~ '/labels_' ~ (round % 2) -%}
            {%- set current = 'parquet.`' ~ current_path ~ '`' -%}
            {%- do _connected_components_write(
                current_path,
                _connected_components_round(previous, 'parquet.`' ~ edges_path ~ '`')
            ) -%}
            {%- set changed = run_query(
                'select count(*) from ' ~ current ~ ' as current_labels'
                ~ ' inner join ' ~ previous ~ ' as previous_labels'
                ~ ' on current_labels.node_id = previous_labels.node_id'
                ~ ' where current_labels.label <> previous_labels.label'
            ).columns[0].values()[0] -%}
            {%- set state.round = round -%}
            {%- if changed == 0 -%}
                {%- set state.converged = true -%}
            {%- endif -%}
        {%- endfor -%}

        {%- if not state.converged -%}
            {{ exceptions.raise_compiler_error(
                "connected_components: labels still changing after " ~ max_rounds ~ " rounds in "
                ~ this ~ "; raise the dbt var connected_components_max_rounds"
            ) }}
        {%- endif -%}
        {{ log("connected_components: " ~ this ~ " converged after " ~ state.round ~ " rounds", info=false) }}

        {%- set labels = 'parquet.`' ~ scratch ~ '/labels_' ~ (state.round % 2) ~ '`' %}
        select node_id as {{ node_id }}, label as component_id
        from {{ labels }} as propagated
        {{ _connected_components_started('propagated', start_nodes, node_id, labels) }}
    {%- endif -%}
{%- endmacro %}


{#- The filter keeping the labelled nodes (`labelled`) of the components that hold a start node. -#}
{% macro _connected_components_started(labelled, start_nodes, node_id, labels=none) -%}
    where {{ labelled }}.label in (
        select start_labels.label
        from {{ labels or labelled }} as start_labels
        inner join {{ start_nodes }}
            on start_labels.node_id = {{ start_nodes }}.{{ node_id }}
    )
{%- endmacro %}


{#-
    The model's scratch folder for the rounds: the dbt var `connected_components_scratch_path`,
    else `_scratch/<schema>/<model>` under the session's spark.sql.warehouse.dir. It holds three
    small Parquet folders (edges and two label sets), overwritten at the next build.
-#}
{% macro _connected_components_scratch() -%}
    {%- set root = var('connected_components_scratch_path', none) -%}
    {%- if not root -%}
        {%- set root = run_query('set spark.sql.warehouse.dir').columns[1].values()[0] ~ '/_scratch' -%}
    {%- endif -%}
    {{ return(root.rstrip('/') ~ '/' ~ this.schema ~ '/' ~ this.identifier) }}
{%- endmacro %}


{#- The rows of `query` as the only Parquet files of folder `path` (written by the cluster). -#}
{% macro _connected_components_write(path, query) -%}
    {%- do run_query(
        "insert overwrite directory '" ~ path ~ "' using parquet select * from (" ~ query ~ ") as rows_to_write"
    ) -%}
{%- endmacro %}
