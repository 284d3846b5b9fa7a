{#-
    Dialpad's data watermark (docs/contract.md §3 and §11): the latest `event_at` loaded of
    call events and agent status events together, never the wall clock. `call_events_watermark`
    is the model's own SQL for the call events' part (a column of a one-row CTE, a subquery);
    the agent status part is read here. `greatest` skips a null (no agent status events yet).
    The build log records the same value (start_build_log, macros/incremental.sql).
-#}
{% macro dialpad_data_watermark(call_events_watermark) -%}
    greatest(
        {{ call_events_watermark }},
        (select max(event_at) from {{ ref('stg_dialpad__agent_status_events') }})
    )
{%- endmacro %}


{#-
    The end of an agent status interval (docs/contract.md §11): the agent's next interval's
    start; the last interval ends at the data watermark `watermark_at` (never before its own
    start). One rule for the mart and for the after-call work that a wrapup interval measures.
-#}
{% macro status_interval_end(next_started_at, started_at, watermark_at) -%}
    coalesce(
        {{ next_started_at }},
        case when {{ watermark_at }} > {{ started_at }} then {{ watermark_at }} else {{ started_at }} end
    )
{%- endmacro %}
