{#-
    The incremental strategy, `delete+insert` on every engine (dbt_project.yml): the stored rows
    of the new rows' unique keys and of the model's rebuild set (macros/incremental.sql) go, and
    the new rows come in.

    DuckDB: dbt's own delete+insert, after the rebuild set's delete in the pre-hook.

    Spark with plain Parquet tables has no DELETE, and a query may not overwrite a table it
    reads. dbt-spark offers append, insert_overwrite, microbatch and (Delta, Iceberg, Hudi
    only) merge; none of them removes the rows of keys that disappeared, so this project adds
    delete+insert to dbt-spark's incremental materialization by overriding its two strategy
    macros (a root project's macros take precedence over the adapter's): the new rows are
    written to `<model>__dbt_new` (the model's query runs once), the kept rows and the new rows
    to `<model>__dbt_next`, which then takes the model's name (two renames, catalog operations
    only), and the old table is dropped. A build therefore
    rewrites each incremental table once, at the cost of a copy of its kept rows: simple and
    exact on any Spark, and the place to use Delta's `delete` and `insert` instead on a
    lakehouse (docs/spark.md).
-#}

{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) -%}
    {%- if raw_strategy == 'delete+insert' -%}
        {{- return(raw_strategy) -}}
    {%- endif -%}
    {{- return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) -}}
{%- endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) -%}
    {%- if strategy == 'delete+insert' -%}
        {{- return(spark_delete_insert_sql(source, target, unique_key)) -}}
    {%- endif -%}
    {{- return(dbt.dbt_spark_get_incremental_sql(
        strategy, source, target, existing, unique_key, incremental_predicates
    )) -}}
{%- endmacro %}


{#-
    Runs the rewrite and returns its last statement (the materialization runs it as `main`).
    A stored row stays unless its unique key is among the new rows' or the rebuild set holds it;
    a null key never matches (as in DuckDB's delete).
-#}
{% macro spark_delete_insert_sql(source, target, unique_key) -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set columns = adapter.get_columns_in_relation(target) | map(attribute='quoted') | join(', ') -%}
    {%- set next = target.incorporate(path={'identifier': target.identifier ~ '__dbt_next'}) -%}
    {%- set previous = target.incorporate(path={'identifier': target.identifier ~ '__dbt_previous'}) -%}
    {%- set new = target.incorporate(path={'identifier': target.identifier ~ '__dbt_new'}) -%}
    {%- set file_format = config.get('file_format', 'parquet') -%}
    {%- set replaced = [
        'coalesce((' ~ keys | join(', ') ~ ') in (select ' ~ keys | join(', ') ~ ' from ' ~ new ~ '), false)'
    ] -%}
    {%- set rebuilt = rebuild_set_predicate() -%}
    {%- if rebuilt -%}
        {%- do replaced.append('coalesce(' ~ rebuilt ~ ', false)') -%}
    {%- endif -%}
    {%- set create_next -%}
        create table {{ next }}
        using {{ file_format }}
        as
        select {{ columns }} from {{ target }}
        where not ({{ replaced | join(' or ') }})
        union all
        select {{ columns }} from {{ new }}
    {%- endset -%}
    {%- for leftover in [new, next, previous] -%}
        {%- do run_query('drop table if exists ' ~ leftover) -%}
    {%- endfor -%}
    {%- do run_query('create table ' ~ new ~ ' using ' ~ file_format ~ ' as select ' ~ columns ~ ' from ' ~ source) -%}
    {%- do run_query(create_next) -%}
    {%- do run_query('alter table ' ~ target ~ ' rename to ' ~ previous) -%}
    {%- do run_query('alter table ' ~ next ~ ' rename to ' ~ target) -%}
    {%- do run_query('drop table ' ~ new) -%}
    {{- return('drop table ' ~ previous) -}}
{%- endmacro %}
