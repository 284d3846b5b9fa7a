-- Contract invariant: handle_ms = talk_ms + coalesce(hold_ms, 0) + coalesce(acw_ms, 0) (after-call
-- work, docs/contract.md §5 and §11); wait_ms only for complete inbound conversations.
-- Severity error: our own arithmetic (a contract shape), whatever the vendor sent.
{{ config(severity='error') }}

select *
from {{ ref('fct_conversations') }}
where
    coalesce(handle_ms, -1) <> coalesce(talk_ms + coalesce(hold_ms, 0) + coalesce(acw_ms, 0), -1)
    or (wait_ms is not null and not (direction = 'inbound' and is_complete))
