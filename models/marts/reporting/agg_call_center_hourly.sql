-- One row per (provider, hour_start_at, call_center_id) with offers: docs/contract.md §6
-- `agg_call_center_hourly`. Each offer counts in the local hour of `reporting_timezone` its
-- offered_at falls in (arrival-hour attribution); every rate ships with its numerator and
-- denominator so hours roll up to days and weeks. An average divides by the count of the terms
-- it summed: a duration that came out negative is null and left out (docs/contract.md §9 "Impossible
-- times"), so ASA, AHT and the average wait ship their own counts. Handle time includes the
-- answering leg's after-call work where it is known (fct_call_center_offers.acw_ms, docs/contract.md §11).

{%- set service_level_ms = var('service_level_seconds', 20) * 1000 %}
{%- set short_abandon_ms = var('short_abandon_seconds', 0) * 1000 %}

with call_center_offers as (

    select * from {{ ref('fct_call_center_offers') }}

),

offer_hours as (

    select
        offers.*,
        {{ local_hour_start_at('offers.offered_at', reporting_timezone()) }} as hour_start_at,
        {{ dbt.date_trunc('hour', utc_to_local('offers.offered_at', reporting_timezone())) }} as hour_start_local,
        offers.offer_outcome = 'abandoned'
            and coalesce(offers.wait_ms < {{ short_abandon_ms }}, false) as is_short_abandon,
        offers.offer_outcome = 'answered'
            and coalesce(offers.speed_to_answer_ms <= {{ service_level_ms }}, false) as is_answered_within_sl,
        offers.offer_outcome = 'answered'
            and coalesce(offers.time_to_answer_business_ms <= {{ service_level_ms }}, false)
            as is_answered_within_sl_business
    from call_center_offers as offers
    where offers.offered_at is not null

),

named_hours as (

    -- the call center's name and type as its latest offer of the hour carries them
    select
        offer_hours.*,
        row_number() over (
            partition by provider, hour_start_at, call_center_id
            order by offered_at desc, offer_id desc
        ) as name_rank
    from offer_hours

),

aggregated as (

    select
        provider,
        hour_start_at,
        hour_start_local,
        call_center_id,
        max(case when name_rank = 1 then call_center_name end) as call_center_name,
        max(case when name_rank = 1 then call_center_type end) as call_center_type,
        count(*) as offered_count,
        sum(case when offer_outcome = 'answered' then 1 else 0 end) as answered_count,
        sum(case when offer_outcome = 'abandoned' then 1 else 0 end) as abandoned_count,
        sum(
            case when offer_outcome = 'abandoned' and rung_agent_count > 0 then 1 else 0 end
        ) as abandoned_after_ring_count,
        sum(case when is_short_abandon then 1 else 0 end) as short_abandoned_count,
        sum(case when offer_outcome = 'voicemail' then 1 else 0 end) as voicemail_count,
        sum(case when offer_outcome = 'overflow' then 1 else 0 end) as overflow_count,
        sum(case when offer_outcome = 'in_progress' then 1 else 0 end) as in_progress_count,
        sum(case when is_answered_within_sl then 1 else 0 end) as answered_within_sl_count,
        sum(case when offer_outcome = 'answered' then speed_to_answer_ms end) as speed_to_answer_ms_sum,
        count(case when offer_outcome = 'answered' then speed_to_answer_ms end) as speed_to_answer_known_count,
        max(case when offer_outcome <> 'in_progress' then wait_ms end) as max_wait_ms,
        sum(case when offer_outcome <> 'in_progress' then wait_ms end) as wait_ms_sum,
        sum(case when offer_outcome <> 'in_progress' then 1 else 0 end) as finished_count,
        count(case when offer_outcome <> 'in_progress' then wait_ms end) as wait_known_count,
        sum(case when queued_at is not null then 1 else 0 end) as queued_count,
        sum(queue_ms) as queue_ms_sum,
        sum(case when is_handled then 1 else 0 end) as handled_count,
        sum(case when is_handled then talk_ms end) as talk_ms,
        sum(case when is_handled then hold_ms end) as hold_ms,
        sum(case when is_handled then acw_ms end) as acw_ms,
        sum(case when is_handled then handle_ms end) as handle_ms,
        count(case when is_handled then handle_ms end) as handle_known_count,
        sum(case when is_transferred then 1 else 0 end) as transferred_count,
        sum(case when is_offered_in_hours then 1 else 0 end) as offered_in_hours_count,
        sum(
            case
                when is_offered_in_hours and offer_outcome <> 'in_progress' and not is_short_abandon
                    then 1
                else 0
            end
        ) as service_level_in_hours_base_count,
        sum(
            case when is_offered_in_hours and is_answered_within_sl_business then 1 else 0 end
        ) as answered_within_sl_in_hours_count,
        sum(case when offer_outcome = 'answered' then time_to_answer_business_ms end) as time_to_answer_business_ms_sum
    from named_hours
    group by provider, hour_start_at, hour_start_local, call_center_id

),

final as (

    select
        provider,
        hour_start_at,
        hour_start_local,
        cast(hour_start_local as date) as reporting_date,
        cast({{ reporting_timezone() }} as {{ dbt.type_string() }}) as reporting_timezone,
        call_center_id,
        call_center_name,
        call_center_type,
        cast(offered_count as {{ dbt.type_int() }}) as offered_count,
        cast(answered_count as {{ dbt.type_int() }}) as answered_count,
        cast(abandoned_count as {{ dbt.type_int() }}) as abandoned_count,
        cast(abandoned_after_ring_count as {{ dbt.type_int() }}) as abandoned_after_ring_count,
        cast(short_abandoned_count as {{ dbt.type_int() }}) as short_abandoned_count,
        cast(voicemail_count as {{ dbt.type_int() }}) as voicemail_count,
        cast(overflow_count as {{ dbt.type_int() }}) as overflow_count,
        cast(in_progress_count as {{ dbt.type_int() }}) as in_progress_count,
        cast(answered_within_sl_count as {{ dbt.type_int() }}) as answered_within_sl_count,
        cast({{ var('service_level_seconds', 20) }} as {{ dbt.type_int() }}) as service_level_seconds,
        cast(
            offered_count - in_progress_count - short_abandoned_count as {{ dbt.type_int() }}
        ) as service_level_base_count,
        cast(answered_within_sl_count as double)
            / nullif(offered_count - in_progress_count - short_abandoned_count, 0) as service_level,
        cast(abandoned_count - short_abandoned_count as double)
            / nullif(offered_count - in_progress_count - short_abandoned_count, 0) as abandonment_rate,
        cast(speed_to_answer_ms_sum as {{ dbt.type_bigint() }}) as speed_to_answer_ms_sum,
        cast(speed_to_answer_known_count as {{ dbt.type_int() }}) as speed_to_answer_known_count,
        cast(speed_to_answer_ms_sum as double) / nullif(speed_to_answer_known_count, 0) as asa_ms,
        cast(max_wait_ms as {{ dbt.type_bigint() }}) as max_wait_ms,
        cast(wait_ms_sum as {{ dbt.type_bigint() }}) as wait_ms_sum,
        cast(finished_count as {{ dbt.type_int() }}) as finished_count,
        cast(wait_known_count as {{ dbt.type_int() }}) as wait_known_count,
        cast(queued_count as {{ dbt.type_int() }}) as queued_count,
        cast(queue_ms_sum as {{ dbt.type_bigint() }}) as queue_ms_sum,
        cast(handled_count as {{ dbt.type_int() }}) as handled_count,
        cast(talk_ms as {{ dbt.type_bigint() }}) as talk_ms,
        cast(hold_ms as {{ dbt.type_bigint() }}) as hold_ms,
        cast(acw_ms as {{ dbt.type_bigint() }}) as acw_ms,
        cast(handle_ms as {{ dbt.type_bigint() }}) as handle_ms,
        cast(handle_known_count as {{ dbt.type_int() }}) as handle_known_count,
        cast(handle_ms as double) / nullif(handle_known_count, 0) as aht_ms,
        cast(transferred_count as {{ dbt.type_int() }}) as transferred_count,
        cast(transferred_count as double) / nullif(handled_count, 0) as transfer_rate,
        cast(offered_in_hours_count as {{ dbt.type_int() }}) as offered_in_hours_count,
        cast(answered_within_sl_in_hours_count as {{ dbt.type_int() }}) as answered_within_sl_in_hours_count,
        cast(service_level_in_hours_base_count as {{ dbt.type_int() }}) as service_level_in_hours_base_count,
        cast(answered_within_sl_in_hours_count as double)
            / nullif(service_level_in_hours_base_count, 0) as service_level_in_hours,
        cast(time_to_answer_business_ms_sum as {{ dbt.type_bigint() }}) as time_to_answer_business_ms_sum
    from aggregated

)

select * from final
