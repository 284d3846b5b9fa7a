-- Contract invariant: a conversation is `answered` exactly when it has an answer interval
-- (answered_at), and time_to_answer_ms is set exactly then.
{{ config(severity='error') }}

select *
from {{ ref('fct_conversations') }}
where
    (outcome = 'answered') <> (answered_at is not null)
    or (answered_at is null) <> (time_to_answer_ms is null)
