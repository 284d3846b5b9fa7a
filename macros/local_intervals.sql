{#-
    Time spans cut at the boundaries of the local intervals of `minutes` (15, 30 or 60) of zone
    `tz`: one row per piece of a span [`start_column`, `end_column`) that falls in one local
    interval. Returns a subquery with every column of `relation` and `piece_started_at`,
    `piece_ended_at`, `piece_ms` (their difference: the pieces of a span add up to its length),
    `interval_start_at` (the UTC instant the piece's local interval began, as
    local_interval_start_at) and `interval_start_local` (its wall-clock time), besides working
    columns (`span_started_at`, `span_ended_at`, `first_boundary_at`, `interval_number`,
    `boundary_at`). Spans with a null end, or no length, give no row.

    The boundaries are `minutes` apart in UTC from the local interval the span starts in. That
    is exact wherever the zone's offset changes by a multiple of `minutes` (every
    daylight-saving rule in use shifts by a whole hour on a whole local hour, except Lord Howe
    Island's 30 minutes with 60-minute intervals): through a change the skipped local hour has
    no interval and the repeated one two. Each piece is labelled by the local interval its own
    start falls in.
-#}
{% macro cut_at_local_intervals(relation, start_column, end_column, minutes, tz) -%}
    {%- set interval_ms = (minutes | int) * 60000 -%}
    (
        select
            numbered.*,
            {{ local_interval_start_at('numbered.piece_started_at', tz, minutes) }} as interval_start_at,
            {{ utc_to_local(local_interval_start_at('numbered.piece_started_at', tz, minutes), tz) }}
                as interval_start_local,
            {{ ms_between('numbered.piece_started_at', 'numbered.piece_ended_at') }} as piece_ms
        from (
            select
                bounded.*,
                case
                    when bounded.boundary_at > bounded.span_started_at then bounded.boundary_at
                    else bounded.span_started_at
                end as piece_started_at,
                case
                    when {{ timestamp_add('minute', minutes | int, 'bounded.boundary_at') }} < bounded.span_ended_at
                        then {{ timestamp_add('minute', minutes | int, 'bounded.boundary_at') }}
                    else bounded.span_ended_at
                end as piece_ended_at
            from (
                select
                    counted.*,
                    {{ timestamp_add(
                        'minute', 'counted.interval_number * ' ~ (minutes | int), 'counted.first_boundary_at'
                    ) }} as boundary_at
                from (
                    select
                        firsts.*,
                        {{ unnest_list(number_list(
                            'floor(cast(' ~ ms_between('firsts.first_boundary_at', 'firsts.span_ended_at')
                            ~ ' - 1 as double) / ' ~ interval_ms ~ ') + 1'
                        )) }} as interval_number
                    from (
                        select
                            spans.*,
                            spans.{{ start_column }} as span_started_at,
                            spans.{{ end_column }} as span_ended_at,
                            {{ local_interval_start_at('spans.' ~ start_column, tz, minutes) }} as first_boundary_at
                        from {{ relation }} as spans
                        where spans.{{ end_column }} > spans.{{ start_column }}
                    ) as firsts
                ) as counted
            ) as bounded
        ) as numbered
    )
{%- endmacro %}
