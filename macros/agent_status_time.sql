{#-
    Agent status time (docs/contract.md §11) cut at local interval boundaries, for
    agg_agent_interval and agg_agent_daily (`status_intervals`: the model's
    ref('fct_agent_status_intervals'), so that its unit tests see the dependency): a subquery with one row per (provider, agent_id,
    interval_start_at, interval_start_local) and the status time of the agent in it, in
    milliseconds: `staffed_ms` (every status but unavailable: available, occupied, wrapup and
    any other on-duty value), `available_ms`, `occupied_ms`, `wrapup_ms` and `unavailable_ms`.
    The status of an interval is its on_duty_status; without one (an event that carried only
    availability_status), its availability_status. Only pieces with a length count: an interval
    the agent had a status in for no time at all (a status that begins at the data watermark)
    has no row.
-#}
{% macro agent_status_time_by_interval(status_intervals, minutes) -%}
    (
        select
            status_pieces.provider,
            status_pieces.agent_id,
            status_pieces.interval_start_at,
            status_pieces.interval_start_local,
            sum(case when status_pieces.status_kind = 'unavailable' then 0 else status_pieces.piece_ms end)
                as staffed_ms,
            sum(case when status_pieces.status_kind = 'available' then status_pieces.piece_ms else 0 end)
                as available_ms,
            sum(case when status_pieces.status_kind = 'occupied' then status_pieces.piece_ms else 0 end)
                as occupied_ms,
            sum(case when status_pieces.status_kind = 'wrapup' then status_pieces.piece_ms else 0 end)
                as wrapup_ms,
            sum(case when status_pieces.status_kind = 'unavailable' then status_pieces.piece_ms else 0 end)
                as unavailable_ms
        from {{ cut_at_local_intervals(
            '(select provider, agent_id, status_started_at, status_ended_at, '
            ~ 'coalesce(on_duty_status, availability_status) as status_kind from '
            ~ status_intervals ~ ')',
            'status_started_at', 'status_ended_at', minutes, reporting_timezone()
        ) }} as status_pieces
        group by
            status_pieces.provider,
            status_pieces.agent_id,
            status_pieces.interval_start_at,
            status_pieces.interval_start_local
    )
{%- endmacro %}


{#- The latest name an agent's status events give (`status_events`: the model's
    ref('stg_dialpad__agent_status_events')), per (provider, agent_id): a subquery. -#}
{% macro agent_status_names(status_events) -%}
    (
        select
            'dialpad' as provider,
            ranked_names.agent_id,
            ranked_names.agent_name
        from (
            select
                agent_id,
                agent_name,
                row_number() over (
                    partition by agent_id
                    order by status_at desc, event_at desc, event_hash desc
                ) as name_rank
            from {{ status_events }}
            where agent_name is not null
        ) as ranked_names
        where ranked_names.name_rank = 1
    )
{%- endmacro %}


{#- The status-time columns of agg_agent_interval and agg_agent_daily, typed, read from
    `status_time` (an alias of agent_status_time_by_interval's rows or their sums), with
    occupancy = (occupied + wrapup) / (available + occupied + wrapup), null when that is 0. -#}
{% macro agent_status_time_columns(status_time) -%}
    cast({{ status_time }}.staffed_ms as {{ dbt.type_bigint() }}) as staffed_ms,
    cast({{ status_time }}.available_ms as {{ dbt.type_bigint() }}) as available_ms,
    cast({{ status_time }}.occupied_ms as {{ dbt.type_bigint() }}) as occupied_ms,
    cast({{ status_time }}.wrapup_ms as {{ dbt.type_bigint() }}) as wrapup_ms,
    cast({{ status_time }}.unavailable_ms as {{ dbt.type_bigint() }}) as unavailable_ms,
    cast({{ status_time }}.occupied_ms + {{ status_time }}.wrapup_ms as double)
        / nullif(
            {{ status_time }}.available_ms + {{ status_time }}.occupied_ms + {{ status_time }}.wrapup_ms, 0
        ) as occupancy
{%- endmacro %}
