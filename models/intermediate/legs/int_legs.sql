-- The provider-neutral leg model the marts read: one row per leg with events, every provider.
-- Each provider maps its legs to the columns of leg_columns() (macros/neutral_columns.sql) in
-- one `int_<provider>__legs_mapped` model whose enforced contract checks them; here they are
-- selected by name, one `union all` per provider. No mart changes for a new provider.
-- A view: its readers filter it by the conversations or legs they recompute.

{{ config(materialized='view') }}

{%- set columns = leg_columns() | join(',\n        ') %}

with dialpad_legs as (

    select * from {{ ref('int_dialpad__legs_mapped') }}

),

messagebird_legs as (

    select * from {{ ref('int_messagebird__legs_mapped') }}

),

final as (

    select
        {{ columns }}
    from dialpad_legs

    union all

    select
        {{ columns }}
    from messagebird_legs

)

select * from final
