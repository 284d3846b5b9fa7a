-- The open intervals of every call center of the call_center_business_hours seed, as UTC
-- instants: one row per merged interval [open_at, close_at). Each opening row of the seed is
-- laid on every local date it applies to (its weekday, not a holiday of the center or of
-- '*'), in the center's own time zone, and only then converted to UTC, so an interval on a
-- daylight-saving day is exactly as long as the wall clock says (09:00-17:00 is 8 hours
-- every day). Dates cover the offers of the center, a day either side. Overlapping or
-- touching intervals of a center merge into one.

with business_hours as (

    select * from {{ ref('call_center_business_hours') }}

),

holidays as (

    select * from {{ ref('call_center_holidays') }}

),

offers as (

    select * from {{ ref('int_call_center_offers') }}

),

centers as (

    select
        call_center_id,
        min(time_zone) as time_zone
    from business_hours
    group by call_center_id

),

offer_instants as (

    select call_center_id, offered_at as instant_at from offers
    union all
    select call_center_id, wait_start_at as instant_at from offers
    union all
    select call_center_id, wait_end_at as instant_at from offers

),

center_ranges as (

    -- the local dates the center's offers need, with a day either side for zone offsets and
    -- overnight shifts
    select
        centers.call_center_id,
        centers.time_zone,
        cast({{ dbt.dateadd(
            'day', -1, 'cast(' ~ utc_to_local('min(offer_instants.instant_at)', 'centers.time_zone') ~ ' as date)'
        ) }} as date) as first_local_date,
        cast({{ dbt.dateadd(
            'day', 1, 'cast(' ~ utc_to_local('max(offer_instants.instant_at)', 'centers.time_zone') ~ ' as date)'
        ) }} as date) as last_local_date
    from centers
    inner join offer_instants
        on centers.call_center_id = offer_instants.call_center_id
    where offer_instants.instant_at is not null
    group by centers.call_center_id, centers.time_zone

),

day_numbers as (

    -- 0 ... 16383: up to 44 years of days per center
    {{ dbt.generate_series(16384) }}

),

local_days as (

    select
        center_ranges.call_center_id,
        center_ranges.time_zone,
        cast(
            {{ dbt.dateadd('day', 'day_numbers.generated_number - 1', 'center_ranges.first_local_date') }} as date
        ) as local_date
    from center_ranges
    cross join day_numbers
    where
        day_numbers.generated_number - 1
        <= {{ dbt.datediff('center_ranges.first_local_date', 'center_ranges.last_local_date', 'day') }}

),

center_holidays as (

    select distinct
        centers.call_center_id,
        holidays.holiday_date
    from holidays
    inner join centers
        on holidays.call_center_id = centers.call_center_id
        or holidays.call_center_id = '*'

),

open_days as (

    select
        local_days.call_center_id,
        local_days.time_zone,
        local_days.local_date,
        {{ hhmm_to_minutes('business_hours.opens_at') }} as opens_minute,
        {{ hhmm_to_minutes('business_hours.closes_at') }} as closes_minute
    from local_days
    inner join business_hours
        on local_days.call_center_id = business_hours.call_center_id
        and {{ iso_weekday('local_days.local_date') }} = business_hours.weekday
    left join center_holidays
        on local_days.call_center_id = center_holidays.call_center_id
        and local_days.local_date = center_holidays.holiday_date
    where center_holidays.call_center_id is null

),

local_intervals as (

    select
        call_center_id,
        time_zone,
        {{ dbt.dateadd('minute', 'opens_minute', 'cast(local_date as ' ~ dbt.type_timestamp() ~ ')') }} as opens_local,
        {{ dbt.dateadd(
            'minute',
            'case when closes_minute <= opens_minute then closes_minute + 1440 else closes_minute end',
            'cast(local_date as ' ~ dbt.type_timestamp() ~ ')'
        ) }} as closes_local
    from open_days

),

utc_intervals as (

    select
        call_center_id,
        {{ local_to_utc('opens_local', 'time_zone') }} as open_at,
        {{ local_to_utc('closes_local', 'time_zone') }} as close_at
    from local_intervals

),

valid_intervals as (

    -- an interval bound inside the hour skipped when clocks go forward can invert it
    select * from utc_intervals where close_at > open_at

),

merged_intervals as (

    select * from {{ merge_intervals('valid_intervals', ['call_center_id'], 'open_at', 'close_at') }} as merged

),

final as (

    select
        call_center_id,
        cast(merged_start_at as {{ dbt.type_timestamp() }}) as open_at,
        cast(merged_end_at as {{ dbt.type_timestamp() }}) as close_at
    from merged_intervals

)

select * from final
