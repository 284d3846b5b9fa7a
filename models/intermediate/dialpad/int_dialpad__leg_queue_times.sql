-- Dialpad: time each leg spent in state `queued`: the sum of its queued intervals, 0 when it
-- never was queued, null when unknown (an interval still open, built from an estimated time, or
-- of unknown length because its end was reported before its start).
-- Incremental: the legs of the recomputed components.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs'), 'int_dialpad__legs_to_rebuild') }}

),

state_intervals as (

    {{ rebuild_scope(ref('int_dialpad__leg_state_intervals'), 'int_dialpad__legs_to_rebuild') }}

),

queued_intervals as (

    select
        leg_id,
        cast(count(*) as {{ dbt.type_int() }}) as queued_interval_count,
        cast(sum(duration_ms) as {{ dbt.type_bigint() }}) as queued_ms,
        -- unknown: an interval still open, estimated, or of unknown length (it came out negative)
        max(case when duration_ms is null or is_time_estimated then 1 else 0 end) = 1 as is_unknown
    from state_intervals
    where state = 'queued'
    group by leg_id

),

final as (

    select
        legs.leg_id,
        coalesce(queued_intervals.queued_interval_count, 0) as queued_interval_count,
        case
            when queued_intervals.is_unknown then null
            else coalesce(queued_intervals.queued_ms, cast(0 as {{ dbt.type_bigint() }}))
        end as queue_ms
    from legs
    left join queued_intervals
        on legs.leg_id = queued_intervals.leg_id

)

select * from final
