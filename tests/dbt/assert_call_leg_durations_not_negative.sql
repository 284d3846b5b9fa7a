-- Contract invariant (severity error: our own computation, whatever the vendor sent): a leg's
-- hold and talk are never negative; a duration that comes out negative is null (docs/contract.md §9
-- "Impossible times"), and talk is unknown on a leg that ended before it connected.
{{ config(severity='error') }}

select *
from {{ ref('fct_call_legs') }}
where
    hold_ms < 0
    or talk_ms < 0
    or (ended_at < connected_at and talk_ms is not null)
