-- Dialpad: one row per leg (call_id) with events: its attributes per docs/contract.md §3 "Leg
-- attributes" and "Connected and ended".
-- Incremental: the legs with new events, from all their events; and the open legs near the
-- data watermark (no reported end, latest event at or after the open-leg refresh cutoff: their
-- inferred end can differ from the one stored; macros/incremental.sql), from their stored row:
-- without new events only the inferred end can change, and it reads the row's own columns, so
-- a build reads the events of the changed legs only.

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    written_rows={'key': 'leg_id', 'keys_model': 'int_dialpad__changed_legs', 'or': 'reported_ended_at is null'},
) }}
{{ depends_on_change_set('int_dialpad__changed_legs') }}

{%- set attribute_groups = {
    'direction': ['direction'],
    'internal_number': ['internal_number'],
    'external_number': ['external_number'],
    'group_id': ['group_id'],
    'master_call_id': ['master_call_id'],
    'entry_point_call_id': ['entry_point_call_id'],
    'operator_call_id': ['operator_call_id'],
    'target': ['target_id', 'target_type', 'target_name', 'target_email', 'target_phone', 'target_office_id'],
    'contact': ['contact_id', 'contact_type', 'contact_name', 'contact_email', 'contact_phone'],
    'entry_point_target': [
        'entry_point_target_id',
        'entry_point_target_type',
        'entry_point_target_name',
        'entry_point_target_email',
        'entry_point_target_phone',
        'entry_point_target_office_id',
    ],
} %}

with data_watermark as (

    -- The latest event time loaded, call and agent status events together: "now" for the
    -- open-leg timeout (never the wall clock; macros/data_watermark.sql).
    select {{ dialpad_data_watermark('max(event_at)') }} as watermark_at
    from {{ ref('int_dialpad__call_events_ordered') }}

),

events as (

    select * from {{ ref('int_dialpad__call_events_ordered') }}
    where {{ in_rebuild_set('leg_id', 'int_dialpad__changed_legs') }}

),

picks as (

    -- Per leg, the event each attribute group is read from (objects are one group: taken
    -- whole from one event): the latest live event carrying a value, else the latest
    -- post-call one carrying it (post-call events never override live ones); and the leg's
    -- other sequences. One row per leg, aggregated from a few columns: windows over the
    -- events' wide rows sort every column (and a CTE that two others read, such as `events`,
    -- is materialised whole by DuckDB), so this reads the events on its own.
    select
        leg_id,
        {%- for group_name, columns in attribute_groups.items() %}
        {%- set carries_value = '(' ~ columns | join(' is not null or ') ~ ' is not null)' %}
        coalesce(
            max(case when is_live_state and {{ carries_value }} then event_sequence end),
            max(case when not is_live_state and {{ carries_value }} then event_sequence end)
        ) as {{ group_name }}_sequence,
        {%- endfor %}
        max(case when csat_score is not null then event_sequence end) as csat_sequence,
        max(case when recap_summary is not null then event_sequence end) as recap_sequence,
        max(case when is_live_state then event_sequence end) as last_live_sequence,
        min(case when is_live_state then started_at end) as live_started_at
    from {{ ref('int_dialpad__call_events_ordered') }}
    where {{ in_rebuild_set('leg_id', 'int_dialpad__changed_legs') }}
    group by leg_id

),

picked as (

    select
        events.*,
        {%- for group_name in attribute_groups %}
        picks.{{ group_name }}_sequence,
        {%- endfor %}
        picks.csat_sequence,
        picks.recap_sequence,
        picks.last_live_sequence,
        picks.live_started_at
    from events
    inner join picks
        on events.leg_id = picks.leg_id

),

dated as (

    -- Post-call events never rewrite a leg's history: a post-call event whose date_started
    -- differs from the one its live events report carries another call's dates (Dialpad's
    -- recording events do: docs/contract.md §3 "Leg attributes"), so none of its dates is the leg's.
    -- The others fill the dates no live event carries.
    select
        picked.*,
        (
            picked.is_live_state
            or picked.started_at is null
            or picked.live_started_at is null
            or picked.started_at = picked.live_started_at
        ) as has_leg_dates
    from picked

),

aggregated as (

    select
        leg_id,

        -- descriptive attributes and related legs
        {%- for group_name, columns in attribute_groups.items() %}
        {%- for column in columns %}
        max(case when event_sequence = {{ group_name }}_sequence then {{ column }} end) as {{ column }},
        {%- endfor %}
        {%- endfor %}

        -- dates: earliest (latest for ended) on live events; post-call events (those with the
        -- leg's own dates) only where no live event has one
        coalesce(
            min(case when is_live_state then started_at end),
            min(case when has_leg_dates then started_at end)
        ) as started_at,
        coalesce(
            min(case when is_live_state then rang_at end),
            min(case when has_leg_dates then rang_at end)
        ) as rang_at,
        coalesce(
            min(case when is_live_state then first_rang_at end),
            min(case when has_leg_dates then first_rang_at end)
        ) as first_rang_at,
        coalesce(
            min(case when is_live_state then queued_at end),
            min(case when has_leg_dates then queued_at end)
        ) as date_queued_at,
        coalesce(
            min(case when is_live_state then connected_at end),
            min(case when has_leg_dates then connected_at end)
        ) as connected_at,
        coalesce(
            max(case when is_live_state then ended_at end),
            max(case when has_leg_dates then ended_at end),
            min(case when state = 'hangup' then event_at end)
        ) as reported_ended_at,

        -- flags: true if any event says so
        {{ dbt.bool_or('coalesce(is_transferred, false)') }} as is_transferred,
        {{ dbt.bool_or('coalesce(was_recorded, false)') }} as was_recorded,
        {{ dbt.bool_or("state in ('monitor', 'barge', 'takeover')") }} as has_monitor_event,
        {{ dbt.bool_or("state = 'queued'") }} as has_queued_event,
        {{ dbt.bool_or("state = 'voicemail'") }} as reached_voicemail,
        {{ dbt.bool_or("state in ('voicemail_uploaded', 'transcription')") }} as has_voicemail_upload,
        {{ dbt.bool_or("state = 'blocked'") }} as was_blocked,

        -- states and event times
        max(case when event_sequence = last_live_sequence then state end) as last_live_state,
        max(case when event_sequence = last_live_sequence then event_at end) as last_live_event_at,
        min(case when state = 'queued' then event_at end) as first_queued_event_at,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,

        -- post-call annotations: the latest value in the leg's order
        max(case when event_sequence = csat_sequence then csat_score end) as csat_score,
        max(case when event_sequence = csat_sequence then event_at end) as csat_at,
        max(case when event_sequence = recap_sequence then recap_summary end) as recap_summary,
        max(case when event_sequence = recap_sequence then event_at end) as recap_at,

        count(*) as event_count
    from dated
    group by leg_id

),

{#- the columns of a leg row, but for ended_at and is_end_inferred, which come after
    reported_ended_at and are worked out in `final` for recomputed and refreshed rows alike -#}
{%- set columns_before_end = [
    'leg_id', 'direction', 'internal_number', 'external_number', 'group_id', 'master_call_id',
    'entry_point_call_id', 'operator_call_id',
] + attribute_groups['target'] + attribute_groups['contact'] + attribute_groups['entry_point_target'] + [
    'started_at', 'rang_at', 'first_rang_at', 'queued_at', 'connected_at', 'reported_ended_at',
] %}
{%- set columns_after_end = [
    'is_connected', 'is_transferred', 'was_recorded', 'has_monitor_event', 'was_queued',
    'has_queued_event', 'reached_voicemail', 'has_voicemail', 'was_blocked', 'last_live_state',
    'last_live_event_at', 'first_event_at', 'last_event_at', 'csat_score', 'csat_at',
    'recap_summary', 'recap_at', 'event_count',
] %}

recomputed as (

    select
        aggregated.leg_id,
        aggregated.direction,
        aggregated.internal_number,
        aggregated.external_number,
        aggregated.group_id,
        aggregated.master_call_id,
        aggregated.entry_point_call_id,
        aggregated.operator_call_id,
        {%- for column in (
            attribute_groups['target'] + attribute_groups['contact'] + attribute_groups['entry_point_target']
        ) %}
        aggregated.{{ column }},
        {%- endfor %}
        aggregated.started_at,
        aggregated.rang_at,
        aggregated.first_rang_at,
        coalesce(aggregated.date_queued_at, aggregated.first_queued_event_at) as queued_at,
        aggregated.connected_at,
        aggregated.reported_ended_at,
        aggregated.connected_at is not null as is_connected,
        aggregated.is_transferred,
        aggregated.was_recorded,
        aggregated.has_monitor_event,
        aggregated.date_queued_at is not null or aggregated.has_queued_event as was_queued,
        aggregated.has_queued_event,
        aggregated.reached_voicemail,
        aggregated.reached_voicemail or aggregated.has_voicemail_upload as has_voicemail,
        aggregated.was_blocked,
        aggregated.last_live_state,
        aggregated.last_live_event_at,
        aggregated.first_event_at,
        aggregated.last_event_at,
        aggregated.csat_score,
        aggregated.csat_at,
        aggregated.recap_summary,
        aggregated.recap_at,
        cast(aggregated.event_count as {{ dbt.type_int() }}) as event_count
    from aggregated

),

legs as (

    select * from recomputed
    {%- if is_incremental() %}

    union all

    -- the open legs near the data watermark that have no new events, as stored
    select
        {%- for column in columns_before_end + columns_after_end %}
        stored_legs.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ this }} as stored_legs
    cross join data_watermark
    where
        stored_legs.reported_ended_at is null
        and stored_legs.last_event_at
            >= {{ open_leg_refresh_cutoff('dialpad_data_watermark_at', 'data_watermark.watermark_at') }}
        and not coalesce({{ in_rebuild_set('stored_legs.leg_id', 'int_dialpad__changed_legs', 'leg_id') }}, false)
    {%- endif %}

),

final as (

    select
        {%- for column in columns_before_end %}
        legs.{{ column }},
        {%- endfor %}
        case
            when legs.reported_ended_at is not null then legs.reported_ended_at
            when legs.last_event_at
                < {{ timestamp_add('hour', -1 * var('open_leg_timeout_hours'), 'data_watermark.watermark_at') }}
                then coalesce(legs.last_live_event_at, legs.last_event_at)
        end as ended_at,
        (
            legs.reported_ended_at is null
            and legs.last_event_at
            < {{ timestamp_add('hour', -1 * var('open_leg_timeout_hours'), 'data_watermark.watermark_at') }}
        ) as is_end_inferred,
        {%- for column in columns_after_end %}
        legs.{{ column }}{% if not loop.last %},{% endif %}
        {%- endfor %}
    from legs
    cross join data_watermark

)

select * from final
