{#-
    `ts` moved by `interval` (SQL: a number or an expression) units of `datepart` (millisecond,
    second, minute, hour, day), keeping every fractional second. dbt's own `dateadd` is exact
    on DuckDB, but dbt-spark's goes through unix seconds: it drops the milliseconds, and for
    `millisecond` it adds nothing at all. Use this one for instants; dbt.dateadd stays fine for
    whole days on dates.
-#}
{% macro timestamp_add(datepart, interval, ts) -%}
    {{ return(adapter.dispatch('timestamp_add')(datepart, interval, ts)) }}
{%- endmacro %}

{% macro default__timestamp_add(datepart, interval, ts) -%}
    {{ dbt.dateadd(datepart, interval, ts) }}
{%- endmacro %}

{% macro spark__timestamp_add(datepart, interval, ts) -%}
    timestampadd({{ datepart | upper }}, {{ interval }}, {{ ts }})
{%- endmacro %}
