{#-
    A duration a mart computes: milliseconds from start_at to end_at (BIGINT), null when either
    is null or when end_at is before start_at. Vendors' clocks err (MessageBird's own example
    leg ends 26 s before it was answered); a negative duration is unknown, never negative and
    never clamped to 0 (docs/contract.md §9 "Impossible times", docs/metrics.md "Impossible times").
    marts.feed_health counts, per provider, every value this nulls (`negative_duration_count`).
-#}
{% macro nonnegative_ms_between(start_at, end_at) -%}
    case
        when {{ end_at }} >= {{ start_at }}
            then {{ ms_between(start_at, end_at) }}
    end
{%- endmacro %}
