-- Contract invariant: ended_at is null until the conversation is complete; an incomplete
-- conversation that nobody answered is in_progress.
-- Severity error: our own computation (a contract shape), whatever the vendor sent.
{{ config(severity='error') }}

select *
from {{ ref('fct_conversations') }}
where
    (is_complete and ended_at is null and started_at is not null)
    or (not is_complete and ended_at is not null)
    or (not is_complete and outcome not in ('answered', 'in_progress'))
