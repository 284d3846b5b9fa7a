-- Dialpad: every agent with an agent status event loaded since the last successful build (a
-- late event included): the agents whose status intervals an incremental build recomputes.
-- Every agent on a first build, or when the last successful build ran other code, seeds or vars.

with new_events as (

    select agent_id
    from {{ ref('stg_dialpad__agent_status_events') }}
    where {{ loaded_since_last_build('loaded_at', 'dialpad_agent_status_loaded_at') }}

),

final as (

    select distinct agent_id
    from new_events

)

select * from final
