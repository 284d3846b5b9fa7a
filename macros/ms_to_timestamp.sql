{#- A unix epoch in milliseconds (BIGINT) as a UTC TIMESTAMP with millisecond precision. -#}
{% macro ms_to_timestamp(epoch_ms_column) -%}
    {{ return(adapter.dispatch('ms_to_timestamp')(epoch_ms_column)) }}
{%- endmacro %}

{% macro default__ms_to_timestamp(epoch_ms_column) -%}
    {{ dbt.dateadd('millisecond', epoch_ms_column, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}

{% macro duckdb__ms_to_timestamp(epoch_ms_column) -%}
    epoch_ms(cast({{ epoch_ms_column }} as bigint))
{%- endmacro %}

{% macro spark__ms_to_timestamp(epoch_ms_column) -%}
    timestamp_millis(cast({{ epoch_ms_column }} as bigint))
{%- endmacro %}
