{#-
    Unit-test fixtures with lists and structs, on Spark. The fixtures write them as DuckDB
    reads them, text such as "[{'id': 'r1', 'recording_type': 'callrecording'}]", which DuckDB
    casts to STRUCT(...)[]; Spark cannot cast text to an array or struct, and dbt-spark's own
    safe_cast expects a Spark expression instead (`array(named_struct(...))`). This override
    (dbt dispatch looks in the root project first) parses such text with from_json, which
    accepts the single-quoted form, into the column's Spark type; anything else is cast as
    dbt-spark does.
-#}
{% macro spark__safe_cast(field, type) -%}
    {%- set is_nested = cast_from_string_unsupported_for(type) -%}
    {%- if is_nested and field is string and (field.startswith("'[") or field.startswith("'{")) -%}
        from_json({{ field }}, '{{ type }}')
    {%- else -%}
        {%- set field_clean = field.strip('"').strip("'") if (is_nested and field is string) else field -%}
        cast({{ field_clean }} as {{ type }})
    {%- endif -%}
{%- endmacro %}
