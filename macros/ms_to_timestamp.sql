{#-
    A unix epoch in milliseconds (BIGINT) as a UTC TIMESTAMP with millisecond precision; null
    outside the plausible window [2000-01-01, 2100-01-01). The ingest nulls implausible payload
    times since issue 12 (docs/ingest.md), but a raw row loaded before may still hold one (a
    `date_started` of 10000000000000000 is the year 318857, which a TIMESTAMP cannot hold: the
    conversion failed every later build). Such a date is unknown here, never an error.
-#}
{% macro ms_to_timestamp(epoch_ms_column) -%}
    {{ return(adapter.dispatch('ms_to_timestamp')(epoch_ms_column)) }}
{%- endmacro %}

{#- 2000-01-01 and 2100-01-01 as unix ms: the bounds of a plausible time. -#}
{% macro plausible_epoch_ms_condition(epoch_ms_column) -%}
    {{ epoch_ms_column }} >= 946684800000 and {{ epoch_ms_column }} < 4102444800000
{%- endmacro %}

{% macro default__ms_to_timestamp(epoch_ms_column) -%}
    case
        when {{ plausible_epoch_ms_condition(epoch_ms_column) }}
            then {{ dbt.dateadd('millisecond', epoch_ms_column, "cast('1970-01-01 00:00:00' as " ~ dbt.type_timestamp() ~ ")") }}
    end
{%- endmacro %}

{% macro duckdb__ms_to_timestamp(epoch_ms_column) -%}
    case
        when {{ plausible_epoch_ms_condition(epoch_ms_column) }}
            then epoch_ms(cast({{ epoch_ms_column }} as bigint))
    end
{%- endmacro %}

{% macro spark__ms_to_timestamp(epoch_ms_column) -%}
    case
        when {{ plausible_epoch_ms_condition(epoch_ms_column) }}
            then timestamp_millis(cast({{ epoch_ms_column }} as bigint))
    end
{%- endmacro %}
