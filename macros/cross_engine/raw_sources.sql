{#-
    The raw layer on engines where `callmart ingest` does not write tables into the warehouse
    itself (on-run-start hook, dbt_project.yml).

    DuckDB: nothing to do, the ingest creates `raw.*` in the warehouse file.

    Spark: the raw layer is Parquet under $CALLMART_RAW_PATH, one folder per raw table, named
    like the table (`<root>/dialpad_call_events/`, `<root>/messagebird_legs/`, ...), any number
    of files below it, optionally in Hive-style partition folders (`event_date=2026-03-02/`).
    For every source table a model of the project reads, the hook creates the database of its
    schema (`raw`) and a view `raw.<table>` over `parquet.`<root>/<table>``: Spark lists the
    files at each query and discovers partitions itself, so many ingest workers can add files
    with no catalog to update. The views are recreated at every dbt invocation (the catalog is
    in-memory), so a new column in the files shows up on the next build. `raw.quarantine`
    joins the lake's `quarantine_releases`, so that it has DuckDB's columns.

    Every lake load writes a file for every raw table, an empty one (with the table's columns)
    when it has no rows for it (ingest/lake.py), so a view over a table no landing file has
    filled yet, such as `dialpad_agent_status_events` for a feed without agent status events,
    reads as empty. A lake last loaded by a release without that table lacks its folder until
    its next load.
-#}
{% macro create_raw_sources() -%}
    {{ return(adapter.dispatch('create_raw_sources')()) }}
{%- endmacro %}

{% macro default__create_raw_sources() -%}
{%- endmacro %}

{% macro spark__create_raw_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('CALLMART_RAW_PATH', '') | trim -%}
        {%- if not root -%}
            {{ exceptions.raise_compiler_error(
                "target spark reads the raw layer from Parquet: set CALLMART_RAW_PATH to its folder"
            ) }}
        {%- endif -%}
        {%- set used_sources = [] -%}
        {%- for node in graph.nodes.values() if node.resource_type == 'model' -%}
            {%- for upstream in node.depends_on.nodes if upstream.startswith('source.') -%}
                {%- if upstream not in used_sources -%}
                    {%- do used_sources.append(upstream) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set schemas = [] -%}
        {%- for unique_id in used_sources | sort -%}
            {%- set source_node = graph.sources[unique_id] -%}
            {%- if source_node.schema not in schemas -%}
                {%- do run_query('create database if not exists ' ~ source_node.schema) -%}
                {%- do schemas.append(source_node.schema) -%}
            {%- endif -%}
            {%- set folder = 'parquet.`' ~ root.rstrip('/') ~ '/' ~ source_node.identifier ~ '`' -%}
            {%- if source_node.identifier == 'quarantine' -%}
                {#- Parquet files are never rewritten: a lake keeps the quarantine's releases in
                    a table of their own (ingest/lake.py); the view gives them back as columns -#}
                {%- set releases = 'parquet.`' ~ root.rstrip('/') ~ '/quarantine_releases`' -%}
                {%- set body -%}
                    select quarantine.*, releases.released_at, releases.released_load_id
                    from {{ folder }} as quarantine
                    left join (
                        select
                            source_file, source_line, raw_hash,
                            min(released_at) as released_at,
                            min(released_load_id) as released_load_id
                        from {{ releases }}
                        group by source_file, source_line, raw_hash
                    ) as releases
                        on quarantine.source_file = releases.source_file
                        and quarantine.source_line = releases.source_line
                        and quarantine.raw_hash = releases.raw_hash
                {%- endset -%}
            {%- else -%}
                {%- set body = 'select * from ' ~ folder -%}
            {%- endif -%}
            {%- do run_query(
                'create or replace view ' ~ source_node.schema ~ '.' ~ source_node.identifier
                ~ ' as ' ~ body
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
