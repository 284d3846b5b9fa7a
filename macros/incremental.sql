{#-
    Incremental builds (docs/performance.md, "Incremental builds").

    A build log, `intermediate.build_log`, records every `dbt build` / `dbt run`: the raw
    tables' watermark (their latest `loaded_at`) and each provider's data watermark (the latest
    event time loaded) as they were when the build started, and whether the build succeeded.
    It is only ever appended to (Spark cannot update a Parquet table): the `on-run-start` hook
    creates the table if it is missing and writes the build's `running` row; the `on-run-end`
    hook writes a second row, a copy of it with the final status, `success` only when every
    model of the project ran and no node errored, failed or was skipped. Models read "what is
    new" against the last successful build, so a failed or partial build simply makes the next
    one reprocess everything since that success (delete+insert by key is idempotent).

    A build log row is only a valid starting point for the same project: its fingerprint
    covers the models, seeds, project macros and vars. When it differs (new code, an edited
    seed, another var), the watermark reads as null and an incremental build recomputes
    every key, as a full build would.
-#}

{#- The build log's relation (intermediate schema: not published, not part of the contract). -#}
{% macro build_log_relation() -%}
    {{ return(api.Relation.create(database=target.database or none, schema='intermediate', identifier='build_log')) }}
{%- endmacro %}


{#-
    What the stored rows were computed from: the checksums of every model and seed, the text of
    the project's macros, and the project vars the models read (keep this list in step with
    dbt_project.yml). Any change makes the next build recompute every key.
-#}
{% macro build_fingerprint() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- if node.resource_type in ('model', 'seed') and node.package_name == project_name -%}
            {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set project_macros = context[project_name] -%}
    {%- for name in project_macros.keys() | sort -%}
        {%- do parts.append('macro.' ~ name ~ '=' ~ local_md5(project_macros[name].macro.macro_sql)) -%}
    {%- endfor -%}
    {%- for name in [
        'reporting_timezone', 'service_level_seconds', 'short_abandon_seconds', 'open_leg_timeout_hours',
        'repeat_contact_days', 'interval_minutes', 'acw_link_seconds',
    ] -%}
        {%- do parts.append('var.' ~ name ~ '=' ~ var(name, none)) -%}
    {%- endfor -%}
    {{- return(local_md5(parts | join('\n'))) -}}
{%- endmacro %}


{#- on-run-start: make sure the build log exists; a build or run writes its row. -#}
{% macro start_build_log() -%}
    {%- set log = build_log_relation() -%}
    {%- set text = dbt.type_string() -%}
    {%- set instant = dbt.type_timestamp() -%}
    {#- one statement per query: Spark runs no statement lists -#}
    {%- if execute -%}
        {%- do run_query('create schema if not exists ' ~ log.include(identifier=false)) -%}
        {%- set create_log -%}
    create table if not exists {{ log }} (
        invocation_id {{ text }},
        command {{ text }},
        started_at {{ instant }},
        finished_at {{ instant }},
        status {{ text }},
        fingerprint {{ text }},
        dialpad_events_loaded_at {{ instant }},
        messagebird_calls_loaded_at {{ instant }},
        messagebird_legs_loaded_at {{ instant }},
        dialpad_data_watermark_at {{ instant }},
        messagebird_data_watermark_at {{ instant }},
        dialpad_agent_status_loaded_at {{ instant }}
    )
        {%- endset -%}
        {%- do run_query(create_log) -%}
        {#- a log created before agent status events (issue 16) gains their column -#}
        {#- a query, not adapter.get_columns_in_relation: that left the hook's transaction open and
            the build log's rows were never committed (every build then recomputed everything) -#}
        {%- set log_columns = run_query('select * from ' ~ log ~ ' where 1 = 0').column_names | map('lower') | list -%}
        {%- if 'dialpad_agent_status_loaded_at' not in log_columns -%}
            {%- do run_query(add_build_log_column(log, 'dialpad_agent_status_loaded_at', instant)) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if flags.WHICH in ('build', 'run') %}
    insert into {{ log }}
    select
        '{{ invocation_id }}',
        '{{ flags.WHICH }}',
        cast({{ dbt.current_timestamp() }} as {{ instant }}),
        cast(null as {{ instant }}),
        'running',
        '{{ build_fingerprint() }}',
        (select max(loaded_at) from {{ source('raw', 'dialpad_call_events') }}),
        (select max(loaded_at) from {{ source('raw_messagebird', 'messagebird_calls') }}),
        (select max(loaded_at) from {{ source('raw_messagebird', 'messagebird_legs') }}),
        -- the data watermarks exactly as the models compute them (staging truncates to the ms;
        -- Dialpad's is the latest of call and agent status events: macros/data_watermark.sql)
        (
            select max(event_at)
            from (
                select {{ dbt.date_trunc('millisecond', 'max(event_at)') }} as event_at
                from {{ source('raw', 'dialpad_call_events') }}
                union all
                select {{ dbt.date_trunc('millisecond', 'max(event_at)') }} as event_at
                from {{ source('raw', 'dialpad_agent_status_events') }}
            ) as dialpad_events
        ),
        (
            select max(updated_at)
            from (
                select {{ dbt.date_trunc('millisecond', 'max(updated_at)') }} as updated_at
                from {{ source('raw_messagebird', 'messagebird_calls') }}
                union all
                select {{ dbt.date_trunc('millisecond', 'max(updated_at)') }} as updated_at
                from {{ source('raw_messagebird', 'messagebird_legs') }}
            ) as snapshots
        ),
        (select max(loaded_at) from {{ source('raw', 'dialpad_agent_status_events') }})
    {%- endif %}
{%- endmacro %}


{#-
    on-run-end: the build is a success when every model of the project ran successfully, on
    all its rows (not --empty or --sample), and no node errored, failed or was skipped; only
    then does the next build start from its watermarks.
-#}
{% macro finish_build_log(results) -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set succeeded = [] -%}
        {%- set failed = [] -%}
        {%- for result in results -%}
            {%- if result.status in ('error', 'fail', 'runtime error', 'skipped') -%}
                {%- do failed.append(result.node.unique_id) -%}
            {%- elif result.node.resource_type == 'model' and result.status == 'success' -%}
                {%- do succeeded.append(result.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set missing = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.package_name == project_name
                and node.config.enabled and node.config.materialized != 'ephemeral'
                and node.unique_id not in succeeded -%}
                {%- do missing.append(node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {#- a build of empty or sampled models (--empty, --sample) processed no raw row whole -#}
        {%- set reduced = flags.EMPTY or (flags.SAMPLE is defined and flags.SAMPLE) -%}
        {%- set status = 'failed' if failed else ('partial' if missing or reduced else 'success') %}
    {%- set log = build_log_relation() %}
    insert into {{ log }}
    select
        invocation_id,
        command,
        started_at,
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}),
        '{{ status }}',
        fingerprint,
        dialpad_events_loaded_at,
        messagebird_calls_loaded_at,
        messagebird_legs_loaded_at,
        dialpad_data_watermark_at,
        messagebird_data_watermark_at,
        dialpad_agent_status_loaded_at
    from {{ log }}
    where invocation_id = '{{ invocation_id }}' and status = 'running'
    {%- endif -%}
{%- endmacro %}


{#- `alter table ... add column`, as each engine spells it (Spark: `add columns (...)`). -#}
{% macro add_build_log_column(log, name, type) -%}
    {{ return(adapter.dispatch('add_build_log_column')(log, name, type)) }}
{%- endmacro %}

{% macro default__add_build_log_column(log, name, type) -%}
    alter table {{ log }} add column {{ name }} {{ type }}
{%- endmacro %}

{% macro spark__add_build_log_column(log, name, type) -%}
    alter table {{ log }} add columns ({{ name }} {{ type }})
{%- endmacro %}


{#-
    A timestamp the build log holds, read when the model is compiled and returned as a SQL
    literal (`null` when there is none, or no build log yet), so that the filters it feeds are
    plain comparisons an engine can prune row groups with. `query` returns one timestamp.
-#}
{% macro build_log_timestamp(query) -%}
    {%- set log = build_log_relation() -%}
    {%- if not execute or adapter.get_relation(log.database, log.schema, log.identifier) is none -%}
        {{- return('null') -}}
    {%- endif -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 or rows[0][0] is none -%}
        {{- return('null') -}}
    {%- endif -%}
    {{- return("cast('" ~ rows[0][0].strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as " ~ dbt.type_timestamp() ~ ")") -}}
{%- endmacro %}


{#-
    THE watermark read: `watermark_column` of the build log (a raw table's latest loaded_at)
    as of the last successful build, as a SQL literal; `null` when there was none, or when it
    was built from other code, seeds or vars (then every row counts as new).
-#}
{% macro last_build_watermark(watermark_column) -%}
    {%- set log = build_log_relation() -%}
    {%- set query -%}
        select case when fingerprint = '{{ build_fingerprint() }}' then {{ watermark_column }} end
        from {{ log }}
        where status = 'success'
        order by started_at desc
        limit 1
    {%- endset -%}
    {{- return(build_log_timestamp(query)) -}}
{%- endmacro %}


{#- Rows whose `loaded_at_column` is later than the last successful build saw (all rows when none). -#}
{% macro loaded_since_last_build(loaded_at_column, watermark_column) -%}
    {%- set watermark = last_build_watermark(watermark_column) -%}
    {%- if watermark == 'null' -%}
        true
    {%- else -%}
        {{ loaded_at_column }} > {{ watermark }}
    {%- endif -%}
{%- endmacro %}


{#-
    THE way staging reads a raw table: every row, or, in an incremental build, every row of the
    `key`s (an event_hash, a leg) that got a row loaded since the last successful build, so a
    new copy or snapshot is read with the stored ones of its key. Use it as the body of the
    staging model's `source` CTE.
-#}
{% macro raw_rows_of_keys_loaded_since_last_build(relation, key, watermark_column) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where {{ key }} in (
        select loaded_copies.{{ key }} from {{ relation }} as loaded_copies
        where {{ loaded_since_last_build('loaded_at', watermark_column) }}
    )
    {%- endif -%}
{%- endmacro %}


{#-
    Open-leg end inference compares a leg's latest event with the data watermark minus
    `open_leg_timeout_hours`. Stored rows were computed against the data watermark of the last
    successful build or of a later failed or partial one; the answer can only differ now for
    an open leg whose latest time is at or after the earliest of those watermarks and
    `current_watermark` (SQL), minus the timeout. Returns that cutoff (null when there is no
    successful build: then every leg is new anyway).
-#}
{% macro open_leg_refresh_cutoff(data_watermark_column, current_watermark) -%}
    {%- set log = build_log_relation() -%}
    {%- set query -%}
        select min({{ data_watermark_column }})
        from {{ log }}
        where started_at >= (select max(started_at) from {{ log }} where status = 'success')
    {%- endset -%}
    {%- set earliest = build_log_timestamp(query) -%}
    {%- if earliest == 'null' -%}
        cast(null as {{ dbt.type_timestamp() }})
    {%- else -%}
        {{ timestamp_add('hour', -1 * var('open_leg_timeout_hours'), 'least(' ~ earliest ~ ', ' ~ current_watermark ~ ')') }}
    {%- endif -%}
{%- endmacro %}


{#-
    The change sets (models/intermediate/<provider>/ and legs/, "to_rebuild" and "changed"):
    the model that names the keys an incremental build recomputes, and its key columns.
-#}
{% macro rebuild_set_keys(keys_model) -%}
    {%- set keys = {
        'int_dialpad__changed_legs': 'leg_id',
        'int_dialpad__legs_to_rebuild': 'leg_id',
        'int_dialpad__agents_to_rebuild': 'agent_id',
        'int_messagebird__calls_to_rebuild': 'call_id',
        'int_legs_to_rebuild': 'provider, leg_id',
        'int_conversations_to_rebuild': 'provider, conversation_id',
    } -%}
    {{- return(keys[keys_model]) -}}
{%- endmacro %}


{#-
    THE way an incremental model reads an input: `select * from <relation>` scoped to the rows
    of the change set `keys_model`, matched on `key` (its columns, SQL; the change set's own key
    columns when left out, e.g. key='provider, offer_id' against int_legs_to_rebuild's
    provider, leg_id). A whole build (first build, --full-refresh, a unit test) reads every row.
    Use it as the body of the input's CTE:

        legs as (

            {{ rebuild_scope(ref('int_legs'), 'int_conversations_to_rebuild') }}

        ),

    `outside=true` reads the other rows instead, those the build keeps (in an incremental
    branch only: `this`, or a table that holds every key, as the repeat-contact links do).
-#}
{% macro rebuild_scope(relation, keys_model, key=none, outside=false) -%}
    {%- set predicate = in_rebuild_set(key or rebuild_set_keys(keys_model), keys_model) -%}
    select * from {{ relation }}
    {%- if outside %}
    where not coalesce({{ predicate }}, false)
    {%- else %}
    where {{ predicate }}
    {%- endif -%}
{%- endmacro %}


{#-
    The predicate under rebuild_scope: `key_expression` (one column, or several in
    parentheses) is among the keys of the change-set model `keys_model`; `true` when the model
    is built whole. The change-set model is declared a dependency at parse time only
    (depends_on_change_set).
-#}
{% macro in_rebuild_set(key_expression, keys_model, keys_columns=none) -%}
    {{- depends_on_change_set(keys_model) -}}
    {%- if is_incremental() -%}
        ({{ key_expression }}) in (select {{ keys_columns or rebuild_set_keys(keys_model) }} from {{ ref(keys_model) }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{#-
    The rows an incremental model replaces besides those of its unique keys: its config
    `rebuild_set`, {'key': <its columns, SQL>, 'keys_model': <change-set model>, 'keys_columns':
    <that model's columns, SQL; the same as `key` when left out>}, names the keys it
    recomputes, so that a row whose key no longer exists (a conversation id that merged into
    another, a leg that is no longer an agent leg) disappears. Returns the predicate on the
    model's stored rows, or none when the model names no rebuild set or is built whole.
-#}
{% macro rebuild_set_predicate() -%}
    {%- set rebuild_set = config.get('rebuild_set') -%}
    {%- if not rebuild_set or not is_incremental() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set keys_columns = rebuild_set.get('keys_columns', rebuild_set.key) -%}
    {{- return(
        '(' ~ rebuild_set.key ~ ') in (select ' ~ keys_columns ~ ' from ' ~ ref(rebuild_set.keys_model) ~ ')'
    ) -}}
{%- endmacro %}


{#-
    pre-hook of every model (dbt_project.yml): delete the stored rows of its rebuild set, where
    the engine deletes (DuckDB); the delete+insert strategy then deletes the rows of the new
    rows' unique keys and inserts. Spark's delete+insert (macros/cross_engine/
    incremental_strategy.sql) leaves out both sets of rows as it rewrites the table.
-#}
{% macro delete_rebuild_set() -%}
    {{ return(adapter.dispatch('delete_rebuild_set')()) }}
{%- endmacro %}

{% macro default__delete_rebuild_set() -%}
    {%- set predicate = rebuild_set_predicate() -%}
    {%- if predicate -%}
        delete from {{ this }} where {{ predicate }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_rebuild_set() -%}
{%- endmacro %}


{#-
    Declares, at parse time only, that the model reads the change-set model `name` in its
    incremental branch. Unit tests render a model as a full build, so they need no fixture
    for it (a `-- depends_on:` comment would make every unit test of the model name one).
-#}
{% macro depends_on_change_set(name) -%}
    {%- if not execute -%}{%- do ref(name) -%}{%- endif -%}
{%- endmacro %}
