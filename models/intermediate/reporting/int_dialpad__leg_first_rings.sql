-- Dialpad: the date_first_rang of each leg that carries one (on an entry point: when its
-- call center first rang an agent), in the provider-neutral shape int_leg_first_rings unions.
-- A view: read through int_leg_first_rings by models that filter it by leg.

{{ config(materialized='view') }}

with legs as (

    select * from {{ ref('int_call_legs') }}

),

final as (

    select
        'dialpad' as provider,
        cast(leg_id as {{ dbt.type_string() }}) as leg_id,
        first_rang_at
    from legs
    where first_rang_at is not null

)

select * from final
