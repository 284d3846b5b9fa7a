-- Data quality: state intervals have a non-negative length.
{{ config(severity='warn') }}

select *
from {{ ref('fct_leg_states') }}
where duration_ms < 0 or exited_at < entered_at
