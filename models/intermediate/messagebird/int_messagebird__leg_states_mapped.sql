-- MessageBird live-state intervals in the provider-neutral shape that int_leg_states unions.
--
-- Snapshots show a leg's status only at their updatedAt, so the timeline is built from the
-- times a leg reports of itself: createdAt, the first snapshot seen ringing (rang_at),
-- answeredAt and its end. States are MessageBird's own statuses; the final status (busy,
-- no_answer, failed, hangup) closes the timeline and is no interval, like Dialpad's hangup.
--   starting  [createdAt, rang_at), or [createdAt, answer or end) when the leg never rang
--   ringing   [rang_at, answer or end); a leg that must have rung (answered, or no_answer)
--             but was never seen ringing rings from createdAt: entered_at is estimated
--   ongoing   [answeredAt, end), answered legs only
-- An end inferred (from a final status' updatedAt, the call's end or the open-leg timeout)
-- makes the interval it closes estimated; an open leg's last interval has no exited_at.
-- Incremental: the legs of the recomputed calls (int_legs_to_rebuild).

{{ config(
    materialized='incremental',
    unique_key='leg_id',
    rebuild_set={
        'key': "'messagebird', leg_id", 'keys_model': 'int_legs_to_rebuild', 'keys_columns': 'provider, leg_id',
    },
) }}
{{ depends_on_change_set('int_legs_to_rebuild') }}

with legs as (

    {{ rebuild_scope(ref('int_messagebird__legs_with_roles'), 'int_messagebird__calls_to_rebuild') }}

),

bounded as (

    select
        leg_id,
        created_at,
        rang_at,
        connected_at,
        ended_at,
        is_end_inferred,
        is_answered,
        is_answered or status = 'no_answer' as must_have_rung,
        -- the end of the time before an answer
        case when is_answered then connected_at else ended_at end as pre_answer_end_at,
        not is_answered and is_end_inferred as is_pre_answer_end_estimated
    from legs
    where created_at is not null

),

starting_intervals as (

    select
        leg_id,
        1 as state_order,
        'starting' as state,
        created_at as entered_at,
        coalesce(rang_at, pre_answer_end_at) as exited_at,
        rang_at is null and is_pre_answer_end_estimated as is_time_estimated
    from bounded
    where
        (rang_at is not null and rang_at > created_at)
        or (rang_at is null and not must_have_rung)

),

ringing_intervals as (

    select
        leg_id,
        2 as state_order,
        'ringing' as state,
        coalesce(rang_at, created_at) as entered_at,
        pre_answer_end_at as exited_at,
        rang_at is null or is_pre_answer_end_estimated as is_time_estimated
    from bounded
    where rang_at is not null or must_have_rung

),

ongoing_intervals as (

    select
        leg_id,
        3 as state_order,
        'ongoing' as state,
        connected_at as entered_at,
        ended_at as exited_at,
        is_end_inferred as is_time_estimated
    from bounded
    where is_answered

),

intervals as (

    select * from starting_intervals
    union all
    select * from ringing_intervals
    union all
    select * from ongoing_intervals

),

final as (

    select
        'messagebird' as provider,
        leg_id,
        cast(
            row_number() over (partition by leg_id order by entered_at, state_order)
            as {{ dbt.type_int() }}
        ) as state_number,
        state,
        entered_at,
        exited_at,
        {{ ms_between('entered_at', 'exited_at') }} as duration_ms,
        is_time_estimated
    from intervals

)

select * from final
