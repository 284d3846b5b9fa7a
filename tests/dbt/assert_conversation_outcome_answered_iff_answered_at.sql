-- Contract invariant (severity error: our own computation, whatever the vendor sent): a
-- conversation is `answered` exactly when it has an answer interval (answered_at), and
-- time_to_answer_ms is set exactly when it was answered no earlier than it started (an answer
-- before the start is a vendor clock error: unknown, null, docs/contract.md §9 "Impossible times").
{{ config(severity='error') }}

select *
from {{ ref('fct_conversations') }}
where
    (outcome = 'answered') <> (answered_at is not null)
    or (time_to_answer_ms is not null) <> coalesce(answered_at >= started_at, false)
