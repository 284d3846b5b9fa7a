-- Data quality (severity warn: vendor data, never a failed build): a leg starts before it
-- connects and connects before it ends. Leg times stay as the vendor delivered them; where
-- they are out of order the durations built from them are null (docs/contract.md §9 "Impossible
-- times"), counted in marts.feed_health.negative_duration_count and named in the build
-- summary's warnings. That no duration is negative is our own invariant
-- (assert_call_leg_durations_not_negative, an error).
{{ config(severity='warn') }}

select *
from {{ ref('fct_call_legs') }}
where
    connected_at < started_at
    or ended_at < started_at
    or ended_at < connected_at
