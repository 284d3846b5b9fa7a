-- The provider-neutral state timeline: one row per live-state interval of a leg, every
-- provider. A provider with a state timeline adds one mapping model and one `union all` here.
-- A view: its readers filter it by the legs they recompute.

{{ config(materialized='view') }}

with dialpad_leg_states as (

    select * from {{ ref('int_dialpad__leg_states_mapped') }}

),

messagebird_leg_states as (

    select * from {{ ref('int_messagebird__leg_states_mapped') }}

),

final as (

    select * from dialpad_leg_states
    union all
    select * from messagebird_leg_states

)

select * from final
