-- Contract invariant (severity error: our own computation, whatever the vendor sent): a leg's
-- hold, talk and after-call work are never negative; a duration that comes out negative is null
-- (docs/contract.md §9 "Impossible times"), and talk is unknown on a leg that ended before it
-- connected. After-call work exists on connected agent legs that ended only (docs/contract.md §11).
{{ config(severity='error') }}

select *
from {{ ref('fct_call_legs') }}
where
    hold_ms < 0
    or talk_ms < 0
    or acw_ms < 0
    or (acw_ms is not null and (connected_at is null or ended_at is null))
    or (ended_at < connected_at and talk_ms is not null)
