-- Data quality: durations and answer delays are never negative (a negative value means leg
-- dates that contradict each other in the feed).
{{ config(severity='warn') }}

select *
from {{ ref('fct_conversations') }}
where
    time_to_answer_ms < 0
    or wait_ms < 0
    or queue_ms < 0
    or hold_ms < 0
    or talk_ms < 0
    or ended_at < started_at
