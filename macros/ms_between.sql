{#- Milliseconds from start_at to end_at, as BIGINT (negative when end_at is earlier). -#}
{% macro ms_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('ms_between')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__ms_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, 'millisecond') }} as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- dbt-spark's datediff rebuilds milliseconds from unix seconds and date_format; unix_millis is
    exact, counts whole-millisecond boundaries like DuckDB, and is null when either side is. -#}
{% macro spark__ms_between(start_at, end_at) -%}
    (unix_millis(cast({{ end_at }} as timestamp)) - unix_millis(cast({{ start_at }} as timestamp)))
{%- endmacro %}
