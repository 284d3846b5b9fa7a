-- Data quality (severity warn: vendor data, never a failed build): a state interval ends no
-- earlier than it began. A leg end reported before its last state's first event (clocks of
-- the events and of date_ended that disagree) leaves that interval with a null duration
-- (docs/contract.md §9 "Impossible times"), counted in marts.feed_health.negative_duration_count and
-- named in the build summary's warnings.
{{ config(severity='warn') }}

select *
from {{ ref('fct_leg_states') }}
where exited_at < entered_at
