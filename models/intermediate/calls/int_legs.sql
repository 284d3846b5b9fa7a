-- The provider-neutral leg model the marts read: one row per leg with events, every provider.
-- A new provider adds its staging and one `int_<provider>__legs_mapped` model with the same
-- columns, and one `union all` here; no mart changes.
-- A view: its readers filter it by the conversations or legs they recompute.

{{ config(materialized='view') }}

with dialpad_legs as (

    select * from {{ ref('int_dialpad__legs_mapped') }}

),

messagebird_legs as (

    select * from {{ ref('int_messagebird__legs_mapped') }}

),

final as (

    select * from dialpad_legs
    union all
    select * from messagebird_legs

)

select * from final
