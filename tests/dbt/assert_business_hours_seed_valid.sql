-- The business-hours seed is usable: one time zone per call center, opening and closing
-- times spelled 'HH:MM' within 00:00-24:00.
-- Severity error: the seed is our (the analysts') configuration, not vendor data; business
-- hours read from an unusable seed would publish wrong in-hours figures.
{{ config(severity='error') }}

with business_hours as (

    select * from {{ ref('call_center_business_hours') }}

),

time_zones as (

    select
        call_center_id,
        'more than one time zone' as problem
    from business_hours
    group by call_center_id
    having count(distinct time_zone) > 1

),

bad_times as (

    select
        call_center_id,
        'opens_at or closes_at is not HH:MM' as problem
    from business_hours
    where
        {{ dbt.length('opens_at') }} <> 5
        or {{ dbt.length('closes_at') }} <> 5
        or substring(opens_at, 3, 1) <> ':'
        or substring(closes_at, 3, 1) <> ':'
        or {{ hhmm_to_minutes('opens_at') }} > 1440
        or {{ hhmm_to_minutes('closes_at') }} > 1440
        or cast(substring(opens_at, 4, 2) as {{ dbt.type_int() }}) > 59
        or cast(substring(closes_at, 4, 2) as {{ dbt.type_int() }}) > 59

)

select * from time_zones
union all
select * from bad_times
