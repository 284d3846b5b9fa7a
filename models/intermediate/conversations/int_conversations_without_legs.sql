-- Provider-neutral: conversations that have no leg with events, every provider, already in the
-- columns of a fct_conversations row (without its repeat-contact columns), which
-- fct_conversations adds to the conversations it builds from int_legs. Today only MessageBird
-- has them: a call object whose legs never arrived (docs/contract.md §8, last paragraph). A provider
-- whose conversations exist only through their legs (Dialpad) adds nothing here.
-- A view: its reader filters it by the conversations it recomputes.

{{ config(materialized='view') }}

with messagebird_calls_without_legs as (

    select * from {{ ref('int_messagebird__calls_without_legs') }}

),

final as (

    select
        messagebird_calls_without_legs.*,
        -- no leg, no after-call work
        cast(null as {{ dbt.type_bigint() }}) as acw_ms
    from messagebird_calls_without_legs

)

select * from final
