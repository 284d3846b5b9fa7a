-- The latest_non_null macro (macros/cross_engine/latest_non_null.sql) on this engine: the
-- latest row carrying a value wins, a later row without one does not, and a group with no
-- value at all gives null. Returns the groups where that fails.
-- Severity error: a property of our own macro on this engine; it reads no data at all.
{{ config(severity='error') }}

with observations as (

    select 'a' as group_key, 1 as sequence_number, 'first' as observed_value
    union all
    select 'a' as group_key, 2 as sequence_number, 'second' as observed_value
    union all
    select 'a' as group_key, 3 as sequence_number, cast(null as {{ dbt.type_string() }}) as observed_value
    union all
    select 'b' as group_key, 1 as sequence_number, cast(null as {{ dbt.type_string() }}) as observed_value

),

latest as (

    select
        group_key,
        {{ latest_non_null('observed_value', 'sequence_number') }} as latest_value
    from observations
    group by group_key

)

select *
from latest
where
    (group_key = 'a' and coalesce(latest_value <> 'second', true))
    or (group_key = 'b' and latest_value is not null)
