-- The provider-neutral leg model the marts read: one row per leg with events, every provider.
-- Each provider maps its legs to the columns of leg_columns() (macros/neutral_columns.sql) in
-- one `int_<provider>__legs_mapped` model whose enforced contract checks them; here they are
-- selected by name, one `union all` per provider. No mart changes for a new provider.
-- acw_ms (after-call work, docs/contract.md §11) is selected besides them from every mapping
-- model (to move into leg_columns()).
-- A view: its readers filter it by the conversations or legs they recompute.

{{ config(materialized='view') }}

{%- set columns = (leg_columns() + ['acw_ms']) | join(',\n        ') %}

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
