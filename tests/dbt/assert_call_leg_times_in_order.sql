-- Data quality: a leg starts before it connects and connects before it ends; hold and talk
-- are never negative.
{{ config(severity='warn') }}

select *
from {{ ref('fct_call_legs') }}
where
    connected_at < started_at
    or ended_at < started_at
    or ended_at < connected_at
    or hold_ms < 0
    or talk_ms < 0
