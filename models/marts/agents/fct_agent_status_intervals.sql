-- One row per interval an agent spent in one status (docs/contract.md §11
-- `fct_agent_status_intervals`): the timeline of int_dialpad__agent_status_intervals, its last
-- interval per agent ended at the data watermark (the latest event time of call and agent
-- status events together, never the wall clock) and flagged `is_end_inferred`.
-- Incremental: every interval of the agents with new events, and the last interval of every
-- other agent (the watermark it ends at moves with each load).

{{ config(
    materialized='incremental',
    unique_key=['provider', 'agent_id', 'status_started_at'],
    rebuild_set={'key': 'agent_id', 'keys_model': 'int_dialpad__agents_to_rebuild'},
    written_rows={'key': 'agent_id', 'keys_model': 'int_dialpad__agents_to_rebuild', 'or': 'is_end_inferred'},
) }}

with rebuilt_intervals as (

    {{ rebuild_scope(ref('int_dialpad__agent_status_intervals'), 'int_dialpad__agents_to_rebuild') }}

),

{% if is_incremental() %}
open_intervals as (

    -- the other agents' last intervals, re-ended at this build's watermark
    select * from (
        {{ rebuild_scope(ref('int_dialpad__agent_status_intervals'), 'int_dialpad__agents_to_rebuild', outside=true) }}
    ) as kept_intervals
    where kept_intervals.next_status_started_at is null

),
{% endif %}

intervals as (

    select * from rebuilt_intervals
    {%- if is_incremental() %}
    union all
    select * from open_intervals
    {%- endif %}

),

data_watermark as (

    select {{ dialpad_data_watermark('max(event_at)') }} as watermark_at
    from {{ ref('int_dialpad__call_events_ordered') }}

),

ended as (

    select
        intervals.provider,
        intervals.agent_id,
        intervals.status_started_at,
        {{ status_interval_end(
            'intervals.next_status_started_at', 'intervals.status_started_at', 'data_watermark.watermark_at'
        ) }} as status_ended_at,
        intervals.next_status_started_at is null as is_end_inferred,
        intervals.on_duty_status,
        intervals.on_duty_status_reason,
        intervals.availability_status,
        intervals.call_center_ids
    from intervals
    cross join data_watermark

),

final as (

    select
        provider,
        agent_id,
        status_started_at,
        status_ended_at,
        is_end_inferred,
        {{ ms_between("status_started_at", "status_ended_at") }} as duration_ms,
        on_duty_status,
        on_duty_status_reason,
        availability_status,
        call_center_ids
    from ended

)

select * from final
