-- Provider-neutral: when each leg's call center first rang an agent (Dialpad date_first_rang),
-- one `union all` per provider that reports such a time. A provider without one adds nothing:
-- its offers start waiting at rang_at, else started_at (fct_call_center_offers.wait_start_at).
-- A view: its readers filter it by leg.

{{ config(materialized='view') }}

with dialpad_first_rings as (

    select * from {{ ref('int_dialpad__leg_first_rings') }}

),

final as (

    select * from dialpad_first_rings

)

select * from final
