-- One row per distinct Dialpad agent status event (docs/contract.md §11), renamed and cast:
-- the agent's id as VARCHAR (as every mart id), `date` as `status_at` (UTC, ms precision),
-- call center ids as a sorted list (empty when none). Statuses are kept as delivered: an
-- unknown on-duty value is a status of its own.
-- Copies: as stg_dialpad__call_events (DuckDB's raw holds one copy per event: a view; a
-- Parquet raw layer keeps every load's copies: the earliest received is kept, incrementally).

{%- set one_copy = raw_holds_one_copy() %}

{{ config(
    materialized='view' if one_copy else 'incremental',
    unique_key='event_hash',
    written_rows={'key': 'event_hash', 'loaded_at': 'loaded_at', 'watermark': 'dialpad_agent_status_loaded_at'},
) }}

with source as (

    {{ raw_rows_of_keys_loaded_since_last_build(
        source('raw', 'dialpad_agent_status_events'),
        'event_hash',
        'dialpad_agent_status_loaded_at'
    ) }}

),

deduplicated as (

    -- the earliest received copy (then the earliest loaded, as the ingest keeps it) wins
    {{ first_copies('source', 'event_hash', one_copy) }}

),

renamed as (

    select
        -- identity
        deduplicated.event_hash,
        cast(deduplicated.target_id as {{ dbt.type_string() }}) as agent_id,

        -- the agent as this event names it
        lower(deduplicated.target_type) as agent_type,
        deduplicated.target_name as agent_name,
        deduplicated.target_email as agent_email,
        deduplicated.target_phone_number as agent_phone_number,

        -- the status
        deduplicated.on_duty_status,
        deduplicated.on_duty_status_reason,
        deduplicated.availability_status,
        {{ sorted_text_list('deduplicated.call_center_ids') }} as call_center_ids,
        deduplicated.powerdialer_mode,

        -- when the status changed (the payload's `date`), else the event time
        coalesce(
            {{ ms_to_timestamp('deduplicated.status_date') }},
            {{ dbt.date_trunc('millisecond', 'deduplicated.event_at') }}
        ) as status_at,
        {{ ms_to_timestamp('deduplicated.status_date') }} is null as is_status_at_estimated,

        -- event time
        {{ dbt.date_trunc('millisecond', 'deduplicated.event_at') }} as event_at,
        deduplicated.event_at_source,
        deduplicated.received_at,

        -- lineage
        deduplicated.payload,
        deduplicated.source_file,
        deduplicated.source_line,
        deduplicated.load_id,
        deduplicated.loaded_at
    from deduplicated

)

select * from renamed
