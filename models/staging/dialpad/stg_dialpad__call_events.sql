-- One row per distinct Dialpad call event, renamed and cast; the state's class and rank come
-- from the dialpad_call_states seed (an unknown state is post-call and ranks last).
-- Copies: DuckDB's raw holds one copy per event (the ingest's commit keeps the earliest
-- received), so there staging is a view: a reader's filters and columns reach the raw table,
-- and the payload is read only by a query that names it. A Parquet raw layer (Spark) keeps
-- every load's rows: there the earliest received copy is the event's row
-- (macros/cross_engine/raw_copies.sql), and the model is incremental: every copy of the
-- events with a copy loaded since the last successful build (a stored event whose earliest
-- copy changed was rewritten by the ingest with a new loaded_at) replaces its event_hash's row.

{%- set one_copy = raw_holds_one_copy() %}

{{ config(
    materialized='view' if one_copy else 'incremental',
    unique_key='event_hash',
    written_rows={'key': 'event_hash', 'loaded_at': 'loaded_at', 'watermark': 'dialpad_events_loaded_at'},
) }}

with source as (

    {{ raw_rows_of_keys_loaded_since_last_build(
        source('raw', 'dialpad_call_events'),
        'event_hash',
        'dialpad_events_loaded_at'
    ) }}

),

call_states as (

    select * from {{ ref('dialpad_call_states') }}

),

unknown_state_rank as (

    select max(state_rank) + 1 as state_rank from call_states

),

deduplicated as (

    -- the earliest received copy (then the earliest loaded, as the ingest keeps it) wins
    {{ first_copies('source', 'event_hash', one_copy) }}

),

renamed as (

    select
        -- identity
        deduplicated.event_hash,
        cast(deduplicated.call_id as {{ dbt.type_bigint() }}) as call_id,
        lower(trim(deduplicated.state)) as state,

        -- related legs
        cast(deduplicated.master_call_id as {{ dbt.type_bigint() }}) as master_call_id,
        cast(deduplicated.entry_point_call_id as {{ dbt.type_bigint() }}) as entry_point_call_id,
        cast(deduplicated.operator_call_id as {{ dbt.type_bigint() }}) as operator_call_id,

        -- event time
        {{ dbt.date_trunc('millisecond', 'deduplicated.event_at') }} as event_at,
        deduplicated.event_at_source,
        deduplicated.received_at,

        -- leg dates (unix ms -> UTC timestamp)
        {{ ms_to_timestamp('deduplicated.date_started') }} as started_at,
        {{ ms_to_timestamp('deduplicated.date_rang') }} as rang_at,
        {{ ms_to_timestamp('deduplicated.date_first_rang') }} as first_rang_at,
        {{ ms_to_timestamp('deduplicated.date_queued') }} as queued_at,
        {{ ms_to_timestamp('deduplicated.date_connected') }} as connected_at,
        {{ ms_to_timestamp('deduplicated.date_ended') }} as ended_at,

        -- measures as Dialpad reports them
        deduplicated.duration as duration_ms,
        deduplicated.total_duration as total_duration_ms,
        deduplicated.hold_time as reported_hold_time,
        deduplicated.talk_time as reported_talk_time,
        deduplicated.mos_score,

        -- descriptive
        lower(deduplicated.direction) as direction,
        deduplicated.internal_number,
        deduplicated.external_number,
        deduplicated.group_id,
        deduplicated.is_transferred,
        deduplicated.was_recorded,
        deduplicated.custom_data,

        -- target: the internal party
        cast(deduplicated.target_id as {{ dbt.type_bigint() }}) as target_id,
        lower(deduplicated.target_type) as target_type,
        deduplicated.target_name,
        deduplicated.target_email,
        deduplicated.target_phone,
        cast(deduplicated.target_office_id as {{ dbt.type_bigint() }}) as target_office_id,

        -- contact: the external party (its id can be a URL)
        deduplicated.contact_id,
        lower(deduplicated.contact_type) as contact_type,
        deduplicated.contact_name,
        deduplicated.contact_email,
        deduplicated.contact_phone,

        -- entry point target: what an inbound caller dialled
        cast(deduplicated.entry_point_target_id as {{ dbt.type_bigint() }}) as entry_point_target_id,
        lower(deduplicated.entry_point_target_type) as entry_point_target_type,
        deduplicated.entry_point_target_name,
        deduplicated.entry_point_target_email,
        deduplicated.entry_point_target_phone,
        cast(deduplicated.entry_point_target_office_id as {{ dbt.type_bigint() }}) as entry_point_target_office_id,

        -- proxy target: the caller id used on outbound legs
        cast(deduplicated.proxy_target_id as {{ dbt.type_bigint() }}) as proxy_target_id,
        lower(deduplicated.proxy_target_type) as proxy_target_type,
        deduplicated.proxy_target_name,
        deduplicated.proxy_target_email,
        deduplicated.proxy_target_phone,
        cast(deduplicated.proxy_target_office_id as {{ dbt.type_bigint() }}) as proxy_target_office_id,

        -- satisfaction
        deduplicated.csat_score as csat_score_text,
        case
            when try_cast(deduplicated.csat_score as double)
                = floor(try_cast(deduplicated.csat_score as double))
                then cast(try_cast(deduplicated.csat_score as double) as {{ dbt.type_int() }})
        end as csat_score,
        deduplicated.pcsat_score as pcsat_score_text,
        deduplicated.csat_recording_urls,
        deduplicated.csat_transcriptions,

        -- voicemail, recordings, AI
        deduplicated.transcription_text,
        deduplicated.voicemail_link,
        deduplicated.recording_url as recording_urls,
        deduplicated.recording_details,
        deduplicated.call_recording_ids,
        deduplicated.screen_recording_urls,
        deduplicated.labels,
        deduplicated.recap_summary,
        deduplicated.recap_outcome,
        deduplicated.recap_purposes,
        deduplicated.recap_action_items,
        deduplicated.call_dispositions,
        deduplicated.routing_breadcrumbs,
        deduplicated.transferred_from,
        deduplicated.ai_playbook,

        -- lineage
        deduplicated.payload,
        deduplicated.source_file,
        deduplicated.source_line,
        deduplicated.load_id,
        deduplicated.loaded_at
    from deduplicated

),

final as (

    select
        renamed.*,
        coalesce(call_states.state_class, 'post_call') as state_class,
        coalesce(call_states.state_rank, unknown_state_rank.state_rank) as state_rank,
        coalesce(call_states.state_class = 'live', false) as is_live_state,
        call_states.state is null as is_unknown_state
    from renamed
    left join call_states
        on renamed.state = call_states.state
    cross join unknown_state_rank

)

select * from final
