{#-
    The ranking of MessageBird snapshots (docs/contract.md §8), shared by the call and leg staging
    models. For each snapshot in `snapshots` (a relation or CTE with `key`, `status`,
    `updated_at`, `object_hash`, `loaded_at`): its status rank from `statuses` (the lifecycle
    seed rows of its object type; an unknown status ranks after every known one), and per
    object its snapshot count, its latest load and its `snapshot_recency` (1 = the winner:
    latest updatedAt, then the later status, then the larger object_hash, so the choice never
    depends on arrival order). Copies of one snapshot (one object_hash: a Parquet raw layer
    keeps every load's rows, DuckDB's raw keeps one) count once, as the copy the ingest would
    keep (macros/copy_number.sql).
-#}
{% macro messagebird_snapshot_ranking(snapshots, statuses, key) -%}
    select
        {{ snapshots }}.*,
        coalesce({{ statuses }}.status_rank, unknown_status.status_rank) as status_rank,
        coalesce({{ statuses }}.is_final, false) as is_final_status,
        {{ statuses }}.status is null as is_unknown_status,
        count(*) over (partition by {{ snapshots }}.{{ key }}) as snapshot_count,
        max({{ snapshots }}.loaded_at) over (
            partition by {{ snapshots }}.{{ key }}
        ) as last_snapshot_loaded_at,
        row_number() over (
            partition by {{ snapshots }}.{{ key }}
            order by
                {{ snapshots }}.updated_at desc nulls last,
                coalesce({{ statuses }}.status_rank, unknown_status.status_rank) desc,
                {{ snapshots }}.object_hash desc
        ) as snapshot_recency
    from (
        select
            copies.*,
            {{ copy_number('copies', 'object_hash') }} as copy_number
        from {{ snapshots }} as copies
    ) as {{ snapshots }}
    left join {{ statuses }}
        on {{ snapshots }}.status = {{ statuses }}.status
    cross join (
        select max(status_rank) + 1 as status_rank from {{ statuses }}
    ) as unknown_status
    where {{ snapshots }}.copy_number = 1
{%- endmacro %}
