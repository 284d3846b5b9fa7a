-- Dialpad: every leg with events, with its role (docs/contract.md §4 "Leg roles", in that order), its
-- conversation (the call_id of the component's earliest non-monitor leg by started_at, ties:
-- the smaller id), the entry point an operator leg operates, and whether it is an agent leg,
-- an agent-offered leg or an answer leg.
-- Incremental: the legs of the recomputed components (roles and the conversation are
-- decided per component).

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={'key': 'leg_id', 'keys_model': 'int_dialpad__legs_to_rebuild'},
) }}

with legs as (

    {{ rebuild_scope(ref('int_dialpad__call_legs'), 'int_dialpad__legs_to_rebuild') }}

),

edges as (

    {{ rebuild_scope(ref('int_dialpad__call_graph_edges'), 'int_dialpad__legs_to_rebuild') }}

),

components as (

    {{ rebuild_scope(ref('int_dialpad__call_graph_components'), 'int_dialpad__legs_to_rebuild') }}

),

named_as_operator as (

    -- legs that some leg names as its operator_call_id, with the (smallest) leg naming them
    select
        referenced_leg_id as leg_id,
        min(leg_id) as naming_entry_point_leg_id
    from edges
    where reference_type = 'operator'
    group by referenced_leg_id

),

named_as_entry_point as (

    select distinct referenced_leg_id as leg_id
    from edges
    where reference_type = 'entry_point'

),

naming_an_operator as (

    -- legs with a non-empty operator_call_id on any event
    select distinct leg_id
    from edges
    where reference_type = 'operator'

),

flagged as (

    select
        legs.*,
        named_as_operator.leg_id is not null as is_named_as_operator,
        named_as_operator.naming_entry_point_leg_id,
        named_as_entry_point.leg_id is not null as is_named_as_entry_point,
        naming_an_operator.leg_id is not null as names_operator,
        -- the leg's entry point names an operator (a leg known only by reference names none)
        entry_point_naming.leg_id is not null as entry_point_names_operator
    from legs
    left join named_as_operator
        on legs.leg_id = named_as_operator.leg_id
    left join named_as_entry_point
        on legs.leg_id = named_as_entry_point.leg_id
    left join naming_an_operator
        on legs.leg_id = naming_an_operator.leg_id
    left join naming_an_operator as entry_point_naming
        on legs.entry_point_call_id = entry_point_naming.leg_id

),

unnamed_operator_candidates as (

    -- Rule 3: among legs not already an operator (rule 1) or a monitor (rule 2) whose entry
    -- point names no operator, the earliest-connected one per entry point (ties: the smaller
    -- id) operates it.
    select
        leg_id,
        row_number() over (
            partition by entry_point_call_id
            order by connected_at, leg_id
        ) as candidate_rank
    from flagged
    where
        not is_named_as_operator
        and not has_monitor_event
        and entry_point_call_id is not null
        and not entry_point_names_operator
        and connected_at is not null

),

with_unnamed_operators as (

    select
        flagged.*,
        coalesce(unnamed_operator_candidates.candidate_rank = 1, false) as is_unnamed_operator
    from flagged
    left join unnamed_operator_candidates
        on flagged.leg_id = unnamed_operator_candidates.leg_id

),

with_roles as (

    select
        with_unnamed_operators.*,
        case
            when is_named_as_operator then 'operator'
            when has_monitor_event then 'monitor'
            when is_unnamed_operator then 'operator'
            when entry_point_call_id is not null and connected_at is not null then 'monitor'
            when entry_point_call_id is not null then 'ring_attempt'
            when is_named_as_entry_point
                or names_operator
                or group_id is not null
                or was_queued
                then 'entry_point'
            else 'direct'
        end as leg_role
    from with_unnamed_operators

),

with_conversations as (

    select
        with_roles.*,
        components.component_id,
        row_number() over (
            partition by components.component_id
            order by
                case when with_roles.leg_role = 'monitor' then 1 else 0 end,
                case when with_roles.started_at is null then 1 else 0 end,
                with_roles.started_at,
                with_roles.leg_id
        ) as conversation_leg_rank
    from with_roles
    inner join components
        on with_roles.leg_id = components.leg_id

),

conversations as (

    select
        component_id,
        leg_id as conversation_id
    from with_conversations
    where conversation_leg_rank = 1

),

final as (

    select
        with_conversations.leg_id,
        conversations.conversation_id,
        with_conversations.component_id,
        with_conversations.leg_role,
        case
            when with_conversations.leg_role = 'operator'
                then coalesce(
                    with_conversations.naming_entry_point_leg_id,
                    with_conversations.entry_point_call_id
                )
        end as operated_entry_point_leg_id,
        (
            with_conversations.leg_role in ('operator', 'direct')
            and coalesce(with_conversations.target_type = 'user', false)
        ) as is_agent_leg,
        (
            coalesce(with_conversations.target_type = 'user', false)
            and (
                with_conversations.leg_role in ('operator', 'ring_attempt')
                or (
                    with_conversations.leg_role = 'direct'
                    and coalesce(with_conversations.direction = 'inbound', false)
                )
            )
        ) as is_agent_offered_leg,
        (
            with_conversations.connected_at is not null
            and (
                (
                    with_conversations.leg_role in ('operator', 'direct')
                    and coalesce(with_conversations.target_type = 'user', false)
                )
                or (with_conversations.leg_role = 'entry_point' and with_conversations.names_operator)
            )
        ) as is_answer_leg,
        with_conversations.is_named_as_operator,
        with_conversations.is_named_as_entry_point,
        with_conversations.names_operator,
        with_conversations.entry_point_names_operator,
        with_conversations.direction,
        with_conversations.internal_number,
        with_conversations.external_number,
        with_conversations.group_id,
        with_conversations.master_call_id,
        with_conversations.entry_point_call_id,
        with_conversations.operator_call_id,
        with_conversations.target_id,
        with_conversations.target_type,
        with_conversations.target_name,
        with_conversations.target_email,
        with_conversations.target_phone,
        with_conversations.target_office_id,
        with_conversations.contact_id,
        with_conversations.contact_type,
        with_conversations.contact_name,
        with_conversations.contact_email,
        with_conversations.contact_phone,
        with_conversations.entry_point_target_id,
        with_conversations.entry_point_target_type,
        with_conversations.entry_point_target_name,
        with_conversations.started_at,
        with_conversations.rang_at,
        with_conversations.first_rang_at,
        with_conversations.queued_at,
        with_conversations.connected_at,
        with_conversations.ended_at,
        with_conversations.is_end_inferred,
        with_conversations.is_connected,
        with_conversations.is_transferred,
        with_conversations.was_recorded,
        with_conversations.has_monitor_event,
        with_conversations.was_queued,
        with_conversations.has_queued_event,
        with_conversations.has_voicemail,
        with_conversations.was_blocked,
        with_conversations.last_live_state,
        with_conversations.last_event_at,
        with_conversations.csat_score,
        with_conversations.csat_at,
        with_conversations.recap_summary,
        with_conversations.recap_at
    from with_conversations
    inner join conversations
        on with_conversations.component_id = conversations.component_id

)

select * from final
