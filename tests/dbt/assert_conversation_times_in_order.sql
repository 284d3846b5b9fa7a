-- Data quality (severity warn: vendor data, never a failed build): a conversation is answered
-- and ends no earlier than it started. Where its legs' dates say otherwise, time_to_answer_ms
-- or wait_ms is null (docs/contract.md §9 "Impossible times"), counted in
-- marts.feed_health.negative_duration_count and named in the build summary's warnings.
{{ config(severity='warn') }}

select *
from {{ ref('fct_conversations') }}
where
    answered_at < started_at
    or ended_at < started_at
