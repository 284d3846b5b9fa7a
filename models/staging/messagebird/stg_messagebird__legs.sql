-- One row per MessageBird leg: its winning snapshot (docs/contract.md §8). The snapshot with the
-- latest updatedAt wins; ties go to the later status in the leg lifecycle (seed
-- messagebird_statuses: starting < ringing < ongoing < busy / no_answer / failed / hangup),
-- then to the larger object_hash (so the choice never depends on arrival order). A snapshot
-- that arrives after a newer one therefore changes nothing. `ringing_at` keeps the one time
-- the winning snapshot no longer shows: the updatedAt of the earliest snapshot seen ringing.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    written_rows={'key': 'leg_id', 'loaded_at': 'last_snapshot_loaded_at', 'watermark': 'messagebird_legs_loaded_at'},
) }}

with source as (

    -- incremental: every snapshot of the legs that got a snapshot since the last successful build
    {{ raw_rows_of_keys_loaded_since_last_build(
        source('raw_messagebird', 'messagebird_legs'),
        'leg_id',
        'messagebird_legs_loaded_at'
    ) }}

),

leg_statuses as (

    select * from {{ ref('messagebird_statuses') }} where object_type = 'leg'

),

spelled as (

    -- raw holds statuses normalised; the same spelling rule is applied again as a guard
    select
        source.*,
        replace(lower(trim(source.status)), '-', '_') as spelled_status
    from source

),

renamed as (

    select
        -- identity
        object_hash,
        leg_id,
        call_id,
        case when spelled_status = 'completed' then 'hangup' else spelled_status end as status,
        lower(trim(direction)) as direction,

        -- parties
        source as source_number,
        destination as destination_number,

        -- charges as reported
        cost,
        currency,
        duration as duration_seconds,

        -- times (UTC, millisecond precision like every *_at of the warehouse)
        {{ dbt.date_trunc('millisecond', 'created_at') }} as created_at,
        {{ dbt.date_trunc('millisecond', 'updated_at') }} as updated_at,
        {{ dbt.date_trunc('millisecond', 'answered_at') }} as answered_at,
        {{ dbt.date_trunc('millisecond', 'ended_at') }} as ended_at,
        received_at,

        -- lineage
        payload,
        source_file,
        source_line,
        load_id,
        loaded_at
    from spelled

),

ranked as (

    {{ messagebird_snapshot_ranking('renamed', 'leg_statuses', 'leg_id') }}

),

ringing as (

    -- the one time the winning snapshot no longer shows
    select
        ranked.*,
        min(case when ranked.status = 'ringing' then ranked.updated_at end) over (
            partition by ranked.leg_id
        ) as ringing_at
    from ranked

),

final as (

    select
        leg_id,
        call_id,
        object_hash,
        status,
        status_rank,
        is_final_status,
        is_unknown_status,
        direction,
        source_number,
        destination_number,
        cost,
        currency,
        duration_seconds,
        created_at,
        updated_at,
        ringing_at,
        answered_at,
        ended_at,
        received_at,
        cast(snapshot_count as {{ dbt.type_int() }}) as snapshot_count,
        payload,
        source_file,
        source_line,
        load_id,
        loaded_at,
        last_snapshot_loaded_at
    from ringing
    where snapshot_recency = 1

)

select * from final
