{#-
    Time zones. The warehouse keeps every instant as a UTC TIMESTAMP without time zone; these
    macros turn an instant into wall-clock time of an IANA zone and back, and find the UTC
    instant a local hour began. `tz` is SQL: a quoted literal (`reporting_timezone()`) or a
    column (a call center's time zone). Each engine gets its own dispatch (DuckDB, Spark; the
    default is the SQL standard `at time zone`).
-#}

{#- The reporting time zone (dbt var `reporting_timezone`, default UTC) as a quoted SQL literal. -#}
{% macro reporting_timezone() -%}
    '{{ var("reporting_timezone", "UTC") | replace("'", "''") }}'
{%- endmacro %}


{#- A UTC TIMESTAMP as the wall-clock TIMESTAMP of time zone `tz`. -#}
{% macro utc_to_local(ts, tz) -%}
    {{ return(adapter.dispatch('utc_to_local')(ts, tz)) }}
{%- endmacro %}

{% macro default__utc_to_local(ts, tz) -%}
    (({{ ts }}) at time zone 'UTC' at time zone {{ tz }})
{%- endmacro %}

{% macro duckdb__utc_to_local(ts, tz) -%}
    {#- the inner timezone() reads the naive timestamp as UTC whatever the session zone is -#}
    timezone({{ tz }}, timezone('UTC', {{ ts }}))
{%- endmacro %}

{% macro spark__utc_to_local(ts, tz) -%}
    from_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}


{#-
    A wall-clock TIMESTAMP of time zone `tz` as a UTC TIMESTAMP. A wall-clock time that occurs
    twice (the hour repeated when clocks go back) or never (the hour skipped when they go
    forward) resolves as the engine does; callers only convert times that business rules name
    (opening hours), never an instant they already had in UTC.
-#}
{% macro local_to_utc(ts, tz) -%}
    {{ return(adapter.dispatch('local_to_utc')(ts, tz)) }}
{%- endmacro %}

{% macro default__local_to_utc(ts, tz) -%}
    (({{ ts }}) at time zone {{ tz }} at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__local_to_utc(ts, tz) -%}
    timezone('UTC', timezone({{ tz }}, {{ ts }}))
{%- endmacro %}

{% macro spark__local_to_utc(ts, tz) -%}
    to_utc_timestamp({{ ts }}, {{ tz }})
{%- endmacro %}


{#-
    The UTC instant at which the local hour (of zone `tz`) containing the UTC instant `ts`
    began: `ts` minus the time elapsed since the local hour's start. Exact across daylight-saving
    changes and in half- or quarter-hour zones, and, unlike converting the truncated local hour
    back to UTC, never ambiguous in the hour that occurs twice when clocks go back.
-#}
{% macro local_hour_start_at(ts, tz) -%}
    {{ local_interval_start_at(ts, tz, 60) }}
{%- endmacro %}


{#-
    The UTC instant at which the local interval of `minutes` (15, 30 or 60: intervals that
    tile the local hour, from its start) containing the UTC instant `ts` began: `ts` minus the
    time elapsed since the local interval's start, which is the time since the local hour's
    start modulo the interval. Exact as local_hour_start_at (clocks change on a whole local
    hour, and every zone's offset is a multiple of 15 minutes).
-#}
{% macro local_interval_start_at(ts, tz, minutes) -%}
    {%- set local_ts = utc_to_local(ts, tz) -%}
    {%- set since_hour = ms_between(dbt.date_trunc('hour', local_ts), local_ts) -%}
    {%- if minutes | int == 60 -%}
        {{ timestamp_add('millisecond', '-1 * ' ~ since_hour, ts) }}
    {%- else -%}
        {{ timestamp_add('millisecond', '-1 * mod(' ~ since_hour ~ ', ' ~ (minutes | int) * 60000 ~ ')', ts) }}
    {%- endif -%}
{%- endmacro %}


{#-
    The dbt var `interval_minutes` (default 30) as a number, checked: agent intervals tile the
    local hour, so only 15, 30 and 60 are taken; any other value fails the build.
-#}
{% macro interval_minutes() -%}
    {%- set minutes = var('interval_minutes', 30) -%}
    {%- if not (minutes | string in ['15', '30', '60'] or (minutes is number and minutes in [15, 30, 60])) -%}
        {{ exceptions.raise_compiler_error(
            "dbt var interval_minutes must be 15, 30 or 60, not " ~ (minutes | string)
        ) }}
    {%- endif -%}
    {{ return(minutes | int) }}
{%- endmacro %}


{#- The local calendar date, in the reporting time zone, of the UTC instant `ts`. -#}
{% macro reporting_date(ts) -%}
    cast({{ utc_to_local(ts, reporting_timezone()) }} as date)
{%- endmacro %}


{#-
    ISO weekday of a DATE: 1 = Monday ... 7 = Sunday. Counted in days from Monday 1900-01-01 so
    that every engine agrees (engines number `dayofweek` differently).
-#}
{% macro iso_weekday(date_expression) -%}
    (mod({{ dbt.datediff("cast('1900-01-01' as date)", date_expression, 'day') }}, 7) + 1)
{%- endmacro %}


{#- Minutes after midnight of a 'HH:MM' text (zero-padded; '24:00' is the end of the day). -#}
{% macro hhmm_to_minutes(text_expression) -%}
    (cast(substring({{ text_expression }}, 1, 2) as {{ dbt.type_int() }}) * 60
        + cast(substring({{ text_expression }}, 4, 2) as {{ dbt.type_int() }}))
{%- endmacro %}
