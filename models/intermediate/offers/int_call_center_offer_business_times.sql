-- Business-hours variants of each offer's waits: the part of [wait_start_at, answered_at]
-- and of [wait_start_at, wait_end_at] that falls inside its call center's open intervals,
-- and whether it was offered while the center was open. A call center absent from the
-- call_center_business_hours seed is always open: its business waits are its elapsed waits.
-- Incremental: the offers among the legs of the recomputed conversations (the open intervals of a
-- date never change, so stored offers keep theirs).

{{ config(
    materialized='incremental',
    unique_key=['provider', 'offer_id'],
    rebuild_set={
        'key': 'provider, offer_id', 'keys_model': 'int_legs_to_rebuild', 'keys_columns': 'provider, leg_id',
    },
) }}

with offers as (

    {{ rebuild_scope(ref('int_call_center_offers'), 'int_legs_to_rebuild', key='provider, offer_id') }}

),

intervals as (

    select * from {{ ref('int_call_center_business_intervals') }}

),

business_hours as (

    select * from {{ ref('call_center_business_hours') }}

),

centers as (

    select distinct call_center_id from business_hours

),

answer_overlaps as (

    select
        offers.provider,
        offers.offer_id,
        sum({{ ms_between(
            'case when intervals.open_at > offers.wait_start_at then intervals.open_at else offers.wait_start_at end',
            'case when intervals.close_at < offers.answered_at then intervals.close_at else offers.answered_at end'
        ) }}) as business_ms
    from offers
    inner join intervals
        on offers.call_center_id = intervals.call_center_id
        and offers.answered_at > intervals.open_at
        and offers.wait_start_at < intervals.close_at
    group by offers.provider, offers.offer_id

),

wait_overlaps as (

    select
        offers.provider,
        offers.offer_id,
        sum({{ ms_between(
            'case when intervals.open_at > offers.wait_start_at then intervals.open_at else offers.wait_start_at end',
            'case when intervals.close_at < offers.wait_end_at then intervals.close_at else offers.wait_end_at end'
        ) }}) as business_ms
    from offers
    inner join intervals
        on offers.call_center_id = intervals.call_center_id
        and offers.wait_end_at > intervals.open_at
        and offers.wait_start_at < intervals.close_at
    group by offers.provider, offers.offer_id

),

offered_while_open as (

    select distinct
        offers.provider,
        offers.offer_id
    from offers
    inner join intervals
        on offers.call_center_id = intervals.call_center_id
        and offers.offered_at >= intervals.open_at
        and offers.offered_at < intervals.close_at

),

final as (

    select
        offers.provider,
        offers.offer_id,
        centers.call_center_id is not null as has_business_hours,
        case
            when offers.offered_at is null then null
            when centers.call_center_id is null then true
            else offered_while_open.offer_id is not null
        end as is_offered_in_hours,
        -- unknown (null) where the elapsed time is: an answer or a wait end reported before the
        -- wait started (docs/contract.md §9 "Impossible times")
        case
            when offers.answered_at is null then null
            when centers.call_center_id is null then offers.speed_to_answer_ms
            when offers.answered_at < offers.wait_start_at then null
            else cast(coalesce(answer_overlaps.business_ms, 0) as {{ dbt.type_bigint() }})
        end as time_to_answer_business_ms,
        case
            when offers.wait_end_at is null then null
            when centers.call_center_id is null then offers.wait_ms
            when offers.wait_end_at < offers.wait_start_at then null
            else cast(coalesce(wait_overlaps.business_ms, 0) as {{ dbt.type_bigint() }})
        end as wait_business_ms
    from offers
    left join centers
        on offers.call_center_id = centers.call_center_id
    left join answer_overlaps
        on offers.provider = answer_overlaps.provider
        and offers.offer_id = answer_overlaps.offer_id
    left join wait_overlaps
        on offers.provider = wait_overlaps.provider
        and offers.offer_id = wait_overlaps.offer_id
    left join offered_while_open
        on offers.provider = offered_while_open.provider
        and offers.offer_id = offered_while_open.offer_id

)

select * from final
