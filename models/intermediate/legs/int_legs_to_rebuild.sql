-- Provider-neutral: every leg (with events) of the conversations an incremental build
-- recomputes, for the models keyed by leg or offer. A leg never leaves its component (nor a
-- MessageBird leg its call), so these are also every leg whose stored rows can change.

with legs as (

    select provider, leg_id, conversation_id from {{ ref('int_legs') }}

),

final as (

    select
        legs.provider,
        legs.leg_id,
        legs.conversation_id
    from legs
    where (legs.provider, legs.conversation_id) in (
        select rebuilt.provider, rebuilt.conversation_id
        from {{ ref('int_conversations_to_rebuild') }} as rebuilt
    )

)

select * from final
