{#-
    Whether the raw layer holds one copy per record (one `event_hash`, one `object_hash`).

    DuckDB: yes. `callmart ingest` commits into the warehouse with the copy rule itself
    (ingest/load.py: a load inserts only events not stored yet and moves an earlier received
    copy onto the stored row; docs/ingest.md, "Identity"), and the raw source's `unique` test
    on `event_hash` holds it. Ranking the copies again in staging would sort every raw row,
    ~1 KB payload included, to find nothing (docs/performance.md, "Where build time goes").

    Spark: no. The Parquet lake keeps every load's rows (docs/spark.md, "Copies"), so staging
    keeps the copy the ingest would have kept (macros/copy_number.sql).
-#}
{% macro raw_holds_one_copy() -%}
    {{ return(adapter.dispatch('raw_holds_one_copy')()) }}
{%- endmacro %}

{% macro default__raw_holds_one_copy() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__raw_holds_one_copy() -%}
    {{ return(true) }}
{%- endmacro %}


{#-
    The body of a staging CTE: every row of `relation` when the raw layer holds one copy per
    `identity` (`one_copy`, from raw_holds_one_copy()), else the first copy of each (copy
    number 1, macros/copy_number.sql). The model passes `one_copy` in, so that a unit test can
    set raw_holds_one_copy and check the ranking on DuckDB too.
-#}
{% macro first_copies(relation, identity, one_copy) -%}
    {%- if one_copy -%}
    select * from {{ relation }}
    {%- else -%}
    select * from (
        select
            {{ relation }}.*,
            {{ copy_number(relation, identity) }} as copy_number
        from {{ relation }}
    ) as copies
    where copies.copy_number = 1
    {%- endif -%}
{%- endmacro %}
