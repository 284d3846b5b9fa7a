-- Dialpad: one row per leg and distinct recording. A recording is a recording_details[] id of
-- type callrecording or admincallrecording; a leg with no recording_details at all counts its
-- distinct recording_url entries instead. A recording listed on several legs of a conversation
-- is counted once, on the earliest of them (started_at, then the smaller id).
-- Incremental: the legs of the recomputed components.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with events as (

    {{ rebuild_scope(ref('int_dialpad__call_events_ordered'), 'int_dialpad__legs_to_rebuild') }}

),

legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs_with_roles'), 'int_dialpad__legs_to_rebuild') }}

),

recording_details as (

    select
        leg_id,
        recording_detail.id as recording_id,
        recording_detail.recording_type
    from (
        select
            leg_id,
            {{ unnest_list('recording_details') }} as recording_detail
        from events
        where recording_details is not null
    ) as unnested_details

),

legs_with_details as (

    select distinct leg_id from recording_details

),

recording_urls as (

    select
        leg_id,
        recording_url
    from (
        select
            leg_id,
            {{ unnest_list('recording_urls') }} as recording_url
        from events
        where recording_urls is not null
    ) as unnested_urls

),

leg_recordings as (

    select distinct
        leg_id,
        'recording_id' as recording_key_type,
        recording_id as recording_key
    from recording_details
    where
        recording_type in ('callrecording', 'admincallrecording')
        and recording_id is not null

    union

    select distinct
        recording_urls.leg_id,
        'recording_url' as recording_key_type,
        recording_urls.recording_url as recording_key
    from recording_urls
    left join legs_with_details
        on recording_urls.leg_id = legs_with_details.leg_id
    where legs_with_details.leg_id is null and recording_urls.recording_url is not null

),

final as (

    select
        leg_recordings.leg_id,
        legs.conversation_id,
        leg_recordings.recording_key_type,
        leg_recordings.recording_key,
        row_number() over (
            partition by legs.conversation_id, leg_recordings.recording_key_type, leg_recordings.recording_key
            order by
                case when legs.started_at is null then 1 else 0 end,
                legs.started_at,
                leg_recordings.leg_id
        ) = 1 as is_first_in_conversation
    from leg_recordings
    inner join legs
        on leg_recordings.leg_id = legs.leg_id

)

select * from final
