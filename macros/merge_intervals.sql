{#-
    The union of time intervals, per partition: overlapping or touching intervals merge into
    one island. Returns a subquery with the partition columns, `merged_start_at` and
    `merged_end_at` (one row per island). `relation` is a CTE name or relation whose
    intervals all have a non-null start and end (start <= end).

    Islands: order the intervals by start; an interval opens a new island when it starts after
    the latest end of every interval before it; an island spans its earliest start to its
    latest end.
-#}
{% macro merge_intervals(relation, partition_by, start_column, end_column) -%}
    {%- set partition_list = partition_by | join(', ') -%}
    (
        select
            {{ partition_list }},
            min(interval_start_at) as merged_start_at,
            max(interval_end_at) as merged_end_at
        from (
            select
                flagged.*,
                sum(is_new_island) over (
                    partition by {{ partition_list }}
                    order by interval_start_at, interval_end_at
                    rows between unbounded preceding and current row
                ) as island_number
            from (
                select
                    {{ partition_list }},
                    {{ start_column }} as interval_start_at,
                    {{ end_column }} as interval_end_at,
                    case
                        when {{ start_column }} <= max({{ end_column }}) over (
                            partition by {{ partition_list }}
                            order by {{ start_column }}, {{ end_column }}
                            rows between unbounded preceding and 1 preceding
                        ) then 0
                        else 1
                    end as is_new_island
                from {{ relation }}
            ) as flagged
        ) as numbered
        group by {{ partition_list }}, island_number
    )
{%- endmacro %}
