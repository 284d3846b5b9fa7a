-- Repeat contacts (docs/metrics.md, "Repeat contacts and first-contact resolution"): one row
-- per conversation, with the same contact number's previous conversation when it started at
-- most repeat_contact_days local days earlier (the latest such one).
-- Incremental: the recomputed conversations (int_conversations_to_rebuild; a conversation id
-- that merged away is deleted), and the stored conversations whose link changes with them:
-- those that named a recomputed conversation as previous_conversation_id, and those whose
-- latest earlier conversation of the same contact is now a recomputed one.

{{ config(
    materialized='incremental',
    unique_key=['provider', 'conversation_id'],
    rebuild_set={'key': 'provider, conversation_id', 'keys_model': 'int_conversations_to_rebuild'},
    written_rows=repeat_link_written_rows(),
) }}

with recomputed_conversations as (

    {{ rebuild_scope(ref('int_conversations'), 'int_conversations_to_rebuild') }}

),

{%- if is_incremental() %}

stored_conversations as (

    -- the conversations that are not recomputed (int_conversations holds every conversation as
    -- of this build)
    {{ rebuild_scope(ref('int_conversations'), 'int_conversations_to_rebuild', outside=true) }}

),

followers as (

    -- stored conversations that named a recomputed (or merged-away) conversation as previous
    select provider, conversation_id, contact_number, started_at
    from stored_conversations
    where (provider, conversation_id) in (
        select stored_links.provider, stored_links.conversation_id
        from {{ this }} as stored_links
        where (stored_links.provider, stored_links.previous_conversation_id) in (
            select rebuilt.provider, rebuilt.conversation_id
            from {{ ref('int_conversations_to_rebuild') }} as rebuilt
        )
    )

),

relinked_contacts as (

    -- per contact: how far back the links of its recomputed conversations and followers can
    -- reach (repeat_contact_days local days, with a day's margin either side for time zones)
    select
        provider,
        contact_number,
        {{ dbt.dateadd('day', -1 * (var('repeat_contact_days', 7) + 2), 'min(started_at)') }} as earliest_linked_at
    from (
        select provider, contact_number, started_at from recomputed_conversations
        union all
        select provider, contact_number, started_at from followers
    ) as relinked
    where contact_number is not null and started_at is not null
    group by provider, contact_number

),

contact_conversations as (

    -- the recomputed conversations, and the stored ones of their contacts that they can link to
    -- or from
    select
        provider,
        conversation_id,
        contact_number,
        started_at,
        true as is_recomputed
    from recomputed_conversations

    union all

    select
        stored_conversations.provider,
        stored_conversations.conversation_id,
        stored_conversations.contact_number,
        stored_conversations.started_at,
        false as is_recomputed
    from stored_conversations
    inner join relinked_contacts
        on stored_conversations.provider = relinked_contacts.provider
        and stored_conversations.contact_number = relinked_contacts.contact_number
        and stored_conversations.started_at >= relinked_contacts.earliest_linked_at

),
{%- else %}

contact_conversations as (

    select
        provider,
        conversation_id,
        contact_number,
        started_at,
        true as is_recomputed
    from recomputed_conversations

),
{%- endif %}

linked as (

    -- the same contact number's previous conversation
    select
        contact_conversations.*,
        lag(contact_conversations.conversation_id) over (
            partition by contact_conversations.provider, contact_conversations.contact_number
            order by contact_conversations.started_at nulls last, contact_conversations.conversation_id
        ) as previous_contact_conversation_id,
        lag(contact_conversations.started_at) over (
            partition by contact_conversations.provider, contact_conversations.contact_number
            order by contact_conversations.started_at nulls last, contact_conversations.conversation_id
        ) as previous_contact_started_at,
        lag(contact_conversations.is_recomputed) over (
            partition by contact_conversations.provider, contact_conversations.contact_number
            order by contact_conversations.started_at nulls last, contact_conversations.conversation_id
        ) as follows_recomputed
    from contact_conversations

),

final as (

    select
        provider,
        conversation_id,
        coalesce(
            contact_number is not null
            and {{ dbt.datediff(reporting_date('previous_contact_started_at'), reporting_date('started_at'), 'day') }}
                <= {{ var('repeat_contact_days', 7) }},
            false
        ) as is_repeat_contact,
        case
            when contact_number is not null
                and {{ dbt.datediff(
                    reporting_date('previous_contact_started_at'), reporting_date('started_at'), 'day'
                ) }}
                    <= {{ var('repeat_contact_days', 7) }}
                then previous_contact_conversation_id
        end as previous_conversation_id
    from linked
    {%- if is_incremental() %}
    where
        is_recomputed
        or coalesce(follows_recomputed, false)
        or (provider, conversation_id) in (select followers.provider, followers.conversation_id from followers)
    {%- endif %}

)

select * from final
