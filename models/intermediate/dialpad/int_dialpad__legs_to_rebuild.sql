-- Dialpad: every node (leg with events, or id known only by reference) of every call-graph
-- component that an incremental build recomputes, with its new component. A component is
-- recomputed when it holds
--   * a leg with new events (int_dialpad__changed_legs): its events, attributes, edges and so
--     its component (two components merge when a late leg links them) changed; or
--   * an open leg near the data watermark: a leg with no reported end whose latest event is
--     at or after the open-leg refresh cutoff (macros/incremental.sql), whose inferred end
--     can differ from the one stored.
-- Components only ever merge (events are never removed), so every node of the components a
-- changed leg belonged to before is a node here: the old conversation ids (each the id of
-- one of the component's legs) are among these leg ids, and deleting the rows of these ids
-- deletes the rows of conversations that merged away.

with changed_legs as (

    select leg_id from {{ ref('int_dialpad__changed_legs') }}

),

legs as (

    select leg_id, reported_ended_at, last_event_at
    from {{ ref('int_dialpad__call_legs') }}

),

components as (

    select leg_id, component_id from {{ ref('int_dialpad__call_graph_components') }}

),

data_watermark as (

    -- the latest event time loaded (int_dialpad__call_legs' own watermark)
    select {{ dialpad_data_watermark('max(last_event_at)') }} as watermark_at from legs

),

refreshed_legs as (

    select legs.leg_id
    from legs
    cross join data_watermark
    where
        legs.reported_ended_at is null
        and legs.last_event_at
            >= {{ open_leg_refresh_cutoff('dialpad_data_watermark_at', 'data_watermark.watermark_at') }}

),

seed_legs as (

    select leg_id from changed_legs
    union
    select leg_id from refreshed_legs

),

rebuilt_components as (

    select distinct components.component_id
    from components
    inner join seed_legs
        on components.leg_id = seed_legs.leg_id

),

final as (

    select
        components.leg_id,
        components.component_id,
        changed_legs.leg_id is not null as has_new_events
    from components
    inner join rebuilt_components
        on components.component_id = rebuilt_components.component_id
    left join changed_legs
        on components.leg_id = changed_legs.leg_id

)

select * from final
