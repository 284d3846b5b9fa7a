-- One row per MessageBird call: its winning snapshot (docs/contract.md §8). The snapshot with the
-- latest updatedAt wins; ties go to the later status in the call lifecycle (seed
-- messagebird_statuses: queued < starting < ongoing < ended), then to the larger object_hash
-- (so the choice never depends on arrival order).

{{ config(
    materialized='incremental',
    unique_key='call_id',
    written_rows={'key': 'call_id', 'loaded_at': 'last_snapshot_loaded_at', 'watermark': 'messagebird_calls_loaded_at'},
) }}

with source as (

    -- incremental: every snapshot of the calls that got a snapshot since the last successful build
    {{ raw_rows_of_keys_loaded_since_last_build(
        source('raw_messagebird', 'messagebird_calls'),
        'call_id',
        'messagebird_calls_loaded_at'
    ) }}

),

call_statuses as (

    select * from {{ ref('messagebird_statuses') }} where object_type = 'call'

),

renamed as (

    select
        -- identity
        object_hash,
        call_id,
        -- raw holds statuses normalised; the same spelling rule is applied again as a guard
        replace(lower(trim(status)), '-', '_') as status,

        -- parties
        source as source_number,
        destination as destination_number,
        number_id,

        -- times (UTC, millisecond precision like every *_at of the warehouse)
        {{ dbt.date_trunc('millisecond', 'created_at') }} as created_at,
        {{ dbt.date_trunc('millisecond', 'updated_at') }} as updated_at,
        {{ dbt.date_trunc('millisecond', 'ended_at') }} as ended_at,
        received_at,

        -- lineage
        payload,
        source_file,
        source_line,
        load_id,
        loaded_at
    from source

),

ranked as (

    {{ messagebird_snapshot_ranking('renamed', 'call_statuses', 'call_id') }}

),

final as (

    select
        call_id,
        object_hash,
        status,
        status_rank,
        is_final_status,
        is_unknown_status,
        source_number,
        destination_number,
        number_id,
        created_at,
        updated_at,
        ended_at,
        received_at,
        cast(snapshot_count as {{ dbt.type_int() }}) as snapshot_count,
        payload,
        source_file,
        source_line,
        load_id,
        loaded_at,
        last_snapshot_loaded_at
    from ranked
    where snapshot_recency = 1

)

select * from final
