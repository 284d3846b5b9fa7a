-- Provider-neutral: every (provider, conversation_id) whose rows an incremental build deletes
-- and recomputes in the provider-neutral models and the marts. Dialpad: every node of a
-- recomputed component (int_dialpad__legs_to_rebuild), so both the conversation ids the
-- components have now and those they had before (which merged away) are here. MessageBird:
-- the recomputed calls.

{%- set string_type = dbt.type_string() %}

with dialpad_nodes as (

    select leg_id from {{ ref('int_dialpad__legs_to_rebuild') }}

),

messagebird_calls as (

    select call_id from {{ ref('int_messagebird__calls_to_rebuild') }}

),

final as (

    select
        'dialpad' as provider,
        cast(leg_id as {{ string_type }}) as conversation_id
    from dialpad_nodes

    union all

    select
        'messagebird' as provider,
        cast(call_id as {{ string_type }}) as conversation_id
    from messagebird_calls

)

select * from final
