-- Data quality (severity warn: vendor data, never a failed build): an offer is answered, sent
-- to voicemail or ended no earlier than its wait started. Where the feed says otherwise (a
-- vendor clock error, or a batch holding only part of a call), the wait or speed to answer is
-- null (docs/contract.md §9 "Impossible times"), counted in marts.feed_health.negative_duration_count
-- and named in the build summary's warnings.
{{ config(severity='warn') }}

select *
from {{ ref('fct_call_center_offers') }}
where
    answered_at < wait_start_at
    or coalesce(answered_at, voicemail_at, ended_at) < wait_start_at
