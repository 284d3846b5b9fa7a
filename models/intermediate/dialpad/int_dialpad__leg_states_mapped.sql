-- Dialpad live-state intervals in the provider-neutral shape that int_leg_states unions.
-- A view: a projection, read through int_leg_states by models that filter it by leg.

{{ config(materialized='view') }}

with state_intervals as (

    select * from {{ ref('int_dialpad__leg_state_intervals') }}

),

final as (

    select
        'dialpad' as provider,
        cast(leg_id as {{ dbt.type_string() }}) as leg_id,
        state_number,
        state,
        entered_at,
        exited_at,
        duration_ms,
        is_time_estimated
    from state_intervals

)

select * from final
