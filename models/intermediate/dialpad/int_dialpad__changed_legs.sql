-- Dialpad: every leg (call_id) with an event loaded since the last successful build (an event
-- whose earliest copy changed was rewritten by the ingest, with a new loaded_at, so it counts):
-- the legs whose own events an incremental build reads again. Every leg on a first build, or
-- when the last successful build ran other code, seeds or vars.

with new_events as (

    select call_id
    from {{ ref('stg_dialpad__call_events') }}
    where {{ loaded_since_last_build('loaded_at', 'dialpad_events_loaded_at') }}

),

final as (

    select distinct call_id as leg_id
    from new_events

)

select * from final
