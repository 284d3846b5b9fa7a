-- One row per conversation (a connected component of the call graph), every provider:
-- docs/contract.md §5 column by column. Its measures are int_conversations', its repeat-contact link
-- int_conversation_repeat_links'.
-- Incremental: the recomputed conversations (int_conversations_to_rebuild; a conversation id
-- that merged away is deleted), and the stored conversations whose repeat-contact link this
-- build changed.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'conversation_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
    written_rows=repeat_link_written_rows(),
) }}

with recomputed_conversations as (

    {{ rebuild_scope(ref('int_conversations'), 'int_conversations_to_rebuild') }}

),

repeat_links as (

    select * from {{ ref('int_conversation_repeat_links') }}

),

{%- if is_incremental() %}

stored_conversations as (

    {{ rebuild_scope(this, 'int_conversations_to_rebuild', outside=true) }}

),

relinked_conversations as (

    -- stored conversations whose link differs from the one just computed
    select all_conversations.*
    from {{ ref('int_conversations') }} as all_conversations
    inner join stored_conversations
        on all_conversations.provider = stored_conversations.provider
        and all_conversations.conversation_id = stored_conversations.conversation_id
    inner join repeat_links
        on all_conversations.provider = repeat_links.provider
        and all_conversations.conversation_id = repeat_links.conversation_id
    where
        coalesce(repeat_links.previous_conversation_id, '')
        <> coalesce(stored_conversations.previous_conversation_id, '')

),

conversations as (

    select * from recomputed_conversations
    union all
    select * from relinked_conversations

),
{%- else %}

conversations as (

    select * from recomputed_conversations

),
{%- endif %}

final as (

    select
        conversations.*,
        repeat_links.is_repeat_contact,
        repeat_links.previous_conversation_id
    from conversations
    left join repeat_links
        on conversations.provider = repeat_links.provider
        and conversations.conversation_id = repeat_links.conversation_id

)

select * from final
