{#-
    The provider-neutral shapes every provider maps its legs and states to (models/intermediate/
    legs/): int_legs and int_leg_states select these columns, by name, from each provider's
    mapping model, so no union matches columns by position. Each mapping model's enforced
    contract (its YAML: these names, each with its data_type) makes a build fail when a
    provider's model drifts from the shape. A new column goes here, in the contracts and in
    every mapping model.
-#}

{#- int_legs: one row per leg with events (int_<provider>__legs_mapped). -#}
{% macro leg_columns() -%}
    {{- return([
        'provider', 'leg_id', 'leg_sort_key', 'conversation_id', 'leg_role', 'direction',
        'target_id', 'target_type', 'target_name', 'target_email', 'target_office_id',
        'contact_number', 'contact_name',
        'started_at', 'rang_at', 'first_rang_at', 'queued_at', 'connected_at', 'ended_at',
        'is_end_inferred', 'last_live_state', 'is_transferred', 'was_recorded',
        'master_call_id', 'entry_point_call_id', 'operator_call_id', 'operated_entry_point_leg_id',
        'is_agent_leg', 'is_agent_offered_leg', 'is_answer_leg', 'transfer_point_count',
        'agent_id', 'agent_name', 'agent_email', 'agent_office_id',
        'was_queued', 'queue_ms', 'hold_ms', 'is_hold_unknown', 'talk_ms', 'acw_ms',
        'has_voicemail', 'was_blocked', 'recording_count',
        'csat_score', 'csat_at', 'recap_summary', 'recap_at',
        'is_talk_leg', 'conversation_started_at', 'conversation_ended_at', 'is_conversation_complete',
    ]) -}}
{%- endmacro %}


{#- int_leg_states: one row per live-state interval of a leg (int_<provider>__leg_states_mapped). -#}
{% macro leg_state_columns() -%}
    {{- return([
        'provider', 'leg_id', 'state_number', 'state', 'entered_at', 'exited_at', 'duration_ms',
        'is_time_estimated',
    ]) -}}
{%- endmacro %}
