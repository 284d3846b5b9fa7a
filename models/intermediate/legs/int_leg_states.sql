-- The provider-neutral state timeline: one row per live-state interval of a leg, every
-- provider. A provider with a state timeline maps it to the columns of leg_state_columns()
-- (macros/neutral_columns.sql) in one `int_<provider>__leg_states_mapped` model whose enforced
-- contract checks them; here they are selected by name, one `union all` per provider.
-- A view: its readers filter it by the legs they recompute.

{{ config(materialized='view') }}

{%- set columns = leg_state_columns() | join(',\n        ') %}

with dialpad_leg_states as (

    select * from {{ ref('int_dialpad__leg_states_mapped') }}

),

messagebird_leg_states as (

    select * from {{ ref('int_messagebird__leg_states_mapped') }}

),

final as (

    select
        {{ columns }}
    from dialpad_leg_states

    union all

    select
        {{ columns }}
    from messagebird_leg_states

)

select * from final
