{#-
    The copies of one record (one `identity`: an event_hash, an object_hash) in the raw layer
    of `relation`, numbered from 1 = the copy the warehouse keeps: the earliest received
    (copies without received_at last), then the earliest loaded, then file and line. It is the
    ingest's own rule (ingest/load.py), which leaves DuckDB's raw one copy; a Parquet raw layer
    keeps every load's copies and staging applies the rule there.
-#}
{% macro copy_number(relation, identity) -%}
    row_number() over (
        partition by {{ relation }}.{{ identity }}
        order by
            {{ relation }}.received_at nulls last,
            {{ relation }}.loaded_at,
            {{ relation }}.source_file,
            {{ relation }}.source_line
    )
{%- endmacro %}
