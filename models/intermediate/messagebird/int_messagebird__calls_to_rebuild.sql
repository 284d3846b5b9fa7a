-- MessageBird: every call (a conversation) an incremental build recomputes:
--   * calls with a leg or call snapshot loaded since the last successful build (their
--     winning snapshots, snapshot counts and ring times may have changed);
--   * calls whose end still depends on the data watermark: the call object reports no end
--     (no call object, or no endedAt and no final status) and the call or one of its legs has
--     a snapshot at or after the open-leg refresh cutoff (macros/incremental.sql).
-- A leg belongs to one call for good (its callId never changes), so a call's legs are the
-- same before and after. Both late arrivals are covered by the first point: a call read from
-- the call history without legs (a conversation of its own, int_messagebird__calls_without_legs)
-- is recomputed when its first leg snapshot loads, and is then built from its legs; legs that
-- came without their call are recomputed when the call object loads.

with legs as (

    select * from {{ ref('stg_messagebird__legs') }}

),

calls as (

    select * from {{ ref('stg_messagebird__calls') }}

),

data_watermark as (

    -- the latest snapshot time of any MessageBird object (int_messagebird__legs_ended's own)
    select max(updated_at) as watermark_at
    from (
        select updated_at from legs
        union all
        select updated_at from calls
    ) as snapshots

),

changed_calls as (

    select call_id from legs
    where {{ loaded_since_last_build('last_snapshot_loaded_at', 'messagebird_legs_loaded_at') }}
    union
    select call_id from calls
    where {{ loaded_since_last_build('last_snapshot_loaded_at', 'messagebird_calls_loaded_at') }}

),

cutoff as (

    select {{ open_leg_refresh_cutoff('messagebird_data_watermark_at', 'data_watermark.watermark_at') }} as refresh_from
    from data_watermark

),

recent_calls as (

    select legs.call_id
    from legs
    cross join cutoff
    where legs.updated_at >= cutoff.refresh_from
    union
    select calls.call_id
    from calls
    cross join cutoff
    where calls.updated_at >= cutoff.refresh_from

),

ended_calls as (

    select call_id
    from calls
    where ended_at is not null or is_final_status

),

refreshed_calls as (

    select recent_calls.call_id
    from recent_calls
    left join ended_calls
        on recent_calls.call_id = ended_calls.call_id
    where ended_calls.call_id is null

),

final as (

    select call_id from changed_calls
    union
    select call_id from refreshed_calls

)

select * from final
