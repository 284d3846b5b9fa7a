-- Contract invariant: a repeat contact names its previous conversation and only then; that
-- conversation has the same provider and contact number and started no later.
-- Severity error: our own linking rule, whatever the vendor sent.
{{ config(severity='error') }}

with conversations as (

    select * from {{ ref('fct_conversations') }}

)

select
    conversations.provider,
    conversations.conversation_id,
    conversations.previous_conversation_id
from conversations
left join conversations as previous_conversations
    on conversations.provider = previous_conversations.provider
    and conversations.previous_conversation_id = previous_conversations.conversation_id
where
    conversations.is_repeat_contact <> (conversations.previous_conversation_id is not null)
    or (
        conversations.previous_conversation_id is not null
        and (
            previous_conversations.conversation_id is null
            or previous_conversations.contact_number <> conversations.contact_number
            or previous_conversations.started_at > conversations.started_at
            or previous_conversations.conversation_id = conversations.conversation_id
        )
    )
