{#-
    Data tests on the rows a build wrote (docs/performance.md, "Incremental builds").

    Every generic data test of the project has the `where` config `__rows_this_build_wrote__`
    (dbt_project.yml; a test with a filter of its own writes `<filter> and
    __rows_this_build_wrote__`). dbt renders a test's `where` before the project's macros are
    at hand, so the placeholder is replaced here, in dbt's own hook for `where`
    (get_where_subquery, which a root project may override), when the test runs:

    * a whole build (`--full-refresh`, a first build, or a build after other code, seeds or
      vars: every key is recomputed, docs/performance.md "What is new") tests every row: so do
      CI's builds, which start from an empty warehouse, `callmart build --full-refresh`, and a
      `dbt test` on its own (it logs no build, so no change set is its own);
    * an incremental build tests, on a relation that names its `written_rows`, the rows of the
      keys this build recomputed; a relation that names none is tested whole (the tables every
      build rebuilds whole, the seeds).

    `written_rows` (a model's config, a source's meta) names those rows by their key, the same
    way for every engine (plain SQL: row-value `in`):
      {'key': <columns, SQL>, 'keys_model': <change set model>, 'keys_columns': <its columns,
        SQL; `key` when left out>}: the key is among the change set's keys. The change set is
        one the model itself reads (upstream of it): a test runs right after its model.
      {'key': <columns>, 'loaded_at': <column>, 'watermark': <build log column>}: the key is
        among those of the rows loaded since the last successful build (every row of an
        identity that got a new row, so a new copy of a stored key is tested with it).
      Either may add 'or': <SQL predicate, or another such spec> for rows a build rewrites
      besides those keys (open legs whose inferred end can move, relinked repeat contacts).
    A model's `rebuild_set` is its `written_rows` when it names none.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if not where -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- if '__rows_this_build_wrote__' in where -%}
        {%- set where = where | replace('__rows_this_build_wrote__', rows_this_build_wrote(relation)) -%}
    {%- endif -%}
    {%- if where | trim == 'true' -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where {{ where }}) as dbt_subquery
    {%- endset -%}
    {{- return(filtered) -}}
{%- endmacro %}


{#- The predicate on `relation`'s rows that this build wrote (`true`: every row). -#}
{% macro rows_this_build_wrote(relation) -%}
    {%- if not execute or flags.FULL_REFRESH -%}
        {{- return('true') -}}
    {%- endif -%}
    {%- set spec = written_rows_spec(relation) -%}
    {%- if not spec -%}
        {{- return('true') -}}
    {%- endif -%}
    {%- set last_build = last_counting_build() -%}
    {%- if last_build is none -%}
        {{- return('true') -}}
    {%- endif -%}
    {{- return(written_rows_predicate(spec, relation, last_build)) -}}
{%- endmacro %}


{#- The predicate of one `written_rows` spec on `relation`'s rows (`true`: every row). -#}
{% macro written_rows_predicate(spec, relation, last_build, nested=false) -%}
    {%- if spec.get('keys_model') -%}
        {%- set keys_relation = graph.nodes['model.' ~ project_name ~ '.' ~ spec.keys_model].relation_name -%}
        {%- set keys = '(select ' ~ spec.get('keys_columns', spec.key) ~ ' from ' ~ keys_relation ~ ')' -%}
    {%- else -%}
        {%- set watermark = last_build[spec.watermark] -%}
        {%- if watermark == 'null' -%}
            {{- return('true') -}}
        {%- endif -%}
        {%- set loaded = spec.loaded_at ~ ' > ' ~ watermark -%}
        {%- set keys = '(select ' ~ spec.key ~ ' from ' ~ relation ~ ' where ' ~ loaded ~ ')' -%}
    {%- endif -%}
    {%- set predicates = ['(' ~ spec.key ~ ') in ' ~ keys] -%}
    {#- a row whose key is null is in no key set: kept, so that not_null tests still see it -#}
    {%- for column in spec.key.split(',') if not nested -%}
        {%- do predicates.append(column | trim ~ ' is null') -%}
    {%- endfor -%}
    {%- if loaded is defined -%}
        {%- do predicates.append(loaded) -%}
    {%- endif -%}
    {%- set predicate = '(' ~ predicates | join(' or ') ~ ')' -%}
    {%- set also = spec.get('or') -%}
    {%- if also -%}
        {%- set also = also if also is string else written_rows_predicate(also, relation, last_build, nested=true) -%}
        {%- set predicate = '(' ~ predicate ~ ' or ' ~ also ~ ')' -%}
    {%- endif -%}
    {{- return(predicate) -}}
{%- endmacro %}


{#-
    The `written_rows` of the model or source the running test reads as `relation` (none when
    it names none or is not incremental here: a view or table is rebuilt whole, its rows all
    new).
-#}
{% macro written_rows_spec(relation) -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.sources[unique_id] if unique_id.startswith('source.') else graph.nodes.get(unique_id) -%}
        {%- if node and (node.alias or node.identifier) == relation.identifier and node.schema == relation.schema -%}
            {%- if unique_id.startswith('source.') -%}
                {{- return(node.config.get('meta', {}).get('written_rows') or node.meta.get('written_rows')) -}}
            {%- elif node.config.materialized == 'incremental' -%}
                {{- return(node.config.get('written_rows') or node.config.get('rebuild_set')) -}}
            {%- elif node.config.materialized == 'view' and 'loaded_at' in node.config.get('written_rows', {}) -%}
                {#- a view over raw (staging on DuckDB): its rows loaded since the last build -#}
                {{- return(node.config.written_rows) -}}
            {%- endif -%}
            {{- return(none) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}


{#-
    The last successful build as this build's tests see it: `none` when it does not count
    (there is none, it ran other code, seeds or vars, or this is not a `dbt build` / `dbt
    run`, which log their fingerprint), else its row of the build log (a dict of SQL literals
    of its watermarks). One query, against this build's own row (on-run-start wrote its
    fingerprint: macros/incremental.sql), so that a test does not work out the fingerprint
    again.
-#}
{% macro last_counting_build() -%}
    {#- one query per build, not per test (some 200 tests ask; the query and its agate table
        cost about 40 ms each): kept in dbt's graph, the one object every node of this
        invocation shares -#}
    {%- set cache = graph.setdefault('callmart_last_counting_build', {}) -%}
    {%- if invocation_id not in cache -%}
        {%- do cache.update({invocation_id: last_counting_build_uncached()}) -%}
    {%- endif -%}
    {{- return(cache[invocation_id]) -}}
{%- endmacro %}

{% macro last_counting_build_uncached() -%}
    {%- set log = build_log_relation() -%}
    {%- if adapter.get_relation(log.database, log.schema, log.identifier) is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set watermarks = [
        'dialpad_events_loaded_at', 'messagebird_calls_loaded_at', 'messagebird_legs_loaded_at',
        'dialpad_agent_status_loaded_at',
    ] -%}
    {%- set query -%}
        select {{ watermarks | join(', ') }}
        from (
            select * from {{ log }}
            where status = 'success'
            order by started_at desc
            limit 1
        ) as last_success
        where last_success.fingerprint in (
            select this_build.fingerprint from {{ log }} as this_build
            where this_build.invocation_id = '{{ invocation_id }}' and this_build.status = 'running'
        )
    {%- endset -%}
    {%- set rows = run_query(query).rows -%}
    {%- if rows | length == 0 -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set build = {} -%}
    {%- for name in watermarks -%}
        {%- set value = rows[0][loop.index0] -%}
        {%- do build.update({name: 'null' if value is none else (
            "cast('" ~ value.strftime('%Y-%m-%d %H:%M:%S.%f') ~ "' as " ~ dbt.type_timestamp() ~ ")"
        )}) -%}
    {%- endfor -%}
    {{- return(build) -}}
{%- endmacro %}


{#-
    `written_rows` of the models keyed by conversation that carry its repeat-contact link
    (int_conversation_repeat_links, fct_conversations): the recomputed conversations, and the
    stored ones whose previous conversation is a recomputed one (their link may have moved).
-#}
{% macro repeat_link_written_rows() -%}
    {{- return({
        'key': 'provider, conversation_id',
        'keys_model': 'int_conversations_to_rebuild',
        'or': {
            'key': 'provider, previous_conversation_id',
            'keys_model': 'int_conversations_to_rebuild',
            'keys_columns': 'provider, conversation_id',
        },
    }) -}}
{%- endmacro %}
