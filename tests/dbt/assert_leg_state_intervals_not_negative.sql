-- Contract invariant (severity error: our own computation, whatever the vendor sent): a state
-- interval's duration is never negative; an interval whose exit was reported before its entry
-- has an unknown (null) duration (docs/contract.md §9 "Impossible times"). Such exits are data quality
-- (assert_leg_state_intervals_in_order, a warn).
{{ config(severity='error') }}

select *
from {{ ref('fct_leg_states') }}
where
    duration_ms < 0
    or (exited_at < entered_at and duration_ms is not null)
    or (exited_at >= entered_at and duration_ms is null)
