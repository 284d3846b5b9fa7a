-- Dialpad: every agent with an agent status event loaded since the last successful build (a
-- late event included): the agents whose status intervals an incremental build recomputes.
-- Every agent on a first build, or when the last successful build ran other code, seeds or vars.
-- earliest_new_status_at bounds what the new events can change (int_dialpad__legs_to_rebuild).

with new_events as (

    select
        agent_id,
        status_at
    from {{ ref('stg_dialpad__agent_status_events') }}
    where {{ loaded_since_last_build('loaded_at', 'dialpad_agent_status_loaded_at') }}

),

final as (

    select
        agent_id,
        min(status_at) as earliest_new_status_at
    from new_events
    group by agent_id

)

select * from final
