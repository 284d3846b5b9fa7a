"""Contact-center KPIs end to end, against values worked out by hand.

A small fixed set of Dialpad conversations (`tests/fixtures/kpi/events.ndjson`, written by
`kpi_events()` below: run `python tests/test_kpis.py` to regenerate it) goes through
`callmart run` on a copy of the dbt project whose business-hours seeds are the fixture's
(`tests/fixtures/kpi/*.csv`) and whose `reporting_timezone` is America/New_York. The marts
must show the numbers worked out in the comments. The day of interest, 2026-03-08, is the
day clocks spring forward in New York (a 23-hour day).

Call center 880001 "KPI Desk" is open 08:00-18:00 New York time every day, closed on
2026-03-10 (a holiday). Agents: Ann 7001, Ben 7002.

    conversation  what happens (UTC; New York local in brackets)
    100101  offer, 03-08 13:00:00 (09:00 EDT). Agents first rung 13:00:05, Ann answers
            13:00:20: speed 15 s (within 20 s), in hours. Talk 300 s. Contact +15550100.
    100201  offer, 03-08 06:30:00 (01:30 EST, before the clocks jump; closed). Ann rung
            06:30:03, caller hangs up 06:31:03: abandoned after ring, waited 60 s.
    100301  offer, 03-08 22:10:00 (18:10 EDT: after closing time). Queued 22:10:02, Ben
            answers 22:10:50: speed 48 s (a miss), queue 49 s, not offered in hours.
    100401  direct inbound to Ann, 03-01 15:00 (10:00 EST). Contact +15550100.
    100501  direct inbound to Ben, 03-16 14:00 (10:00 EDT). Contact +15550100.
    100601  offer, 03-10 15:00:00 (11:00 EDT on the center's holiday). Ben answers in 5 s.

Repeat contacts (+15550100): 100101 (03-08) is day 7 after 100401 (03-01): a repeat;
100501 (03-16) is day 8 after 100101: not a repeat.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import shared_folder

from ingest.build import DBT_CLI, dbt_environment
from ingest.cli import main

KPI = Path(__file__).parent / "fixtures" / "kpi"
PROJECT = Path(__file__).resolve().parent.parent
S = 1000


def _ms(text: str) -> int:
    """'2026-03-08 13:00:00' (UTC) as unix milliseconds."""
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _party(kind: str, party_id: int, name: str, phone: str) -> dict[str, Any]:
    email = f"{name.split()[0].lower()}@kpi.test" if kind == "user" else ""
    return {
        "type": kind,
        "id": party_id,
        "name": name,
        "email": email,
        "phone": phone,
        "office_id": 600,
    }


DESK = _party("callcenter", 880001, "KPI Desk", "+15559000000")
ANN = _party("user", 7001, "Ann Kpi", "+15559000001")
BEN = _party("user", 7002, "Ben Kpi", "+15559000002")


def _contact(phone: str) -> dict[str, Any]:
    return {
        "type": "contact",
        "id": int(phone[1:]),
        "name": f"Caller {phone[-4:]}",
        "phone": phone,
        "email": "",
    }


def _leg(
    call_id: int,
    target: dict[str, Any],
    phone: str,
    states: list[tuple[str, int]],
    *,
    started: int,
    rang: int | None = None,
    queued: int | None = None,
    first_rang: int | None = None,
    connected: int | None = None,
    names_operator: tuple[int, int] | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """One leg's live events; each payload shows the dates the leg had reached by then."""
    events = []
    for state, at in states:
        payload: dict[str, Any] = {
            "call_id": call_id,
            "state": state,
            "direction": "inbound",
            "event_timestamp": at,
            "date_started": started,
            "target": target,
            "contact": _contact(phone),
            "external_number": phone,
            "internal_number": target["phone"],
            **fields,
        }
        for key, value in (
            ("date_rang", rang),
            ("date_queued", queued),
            ("date_first_rang", first_rang),
            ("date_connected", connected),
        ):
            if value is not None and value <= at:
                payload[key] = value
        if names_operator is not None and names_operator[1] <= at:
            payload["operator_call_id"] = names_operator[0]
        if state in ("hangup", "missed"):
            payload["date_ended"] = at
        events.append(payload)
    return events


def _offer(
    entry_point: int,
    phone: str,
    at: int,
    rings: list[tuple[int, dict[str, Any], int]],
    *,
    answer: tuple[int, int, int] | None,
    queued_after_ms: int | None = None,
    hangup_after_ms: int,
) -> list[dict[str, Any]]:
    """An offer to the KPI Desk: the entry point rings 1 s after it starts (and may queue),
    rings the given agents (call_id, agent, ring time), and is answered by `answer`
    (operator call_id, connected time, hangup time) or hung up at `at + hangup_after_ms`."""
    group = {"group_id": "callcenter:880001", "entry_point_target": DESK}
    queued = at + queued_after_ms if queued_after_ms is not None else None
    first_rang = min(ring_at for _, _, ring_at in rings)
    states = [("calling", at), ("ringing", at + 1 * S)]
    if queued is not None:
        states.append(("queued", queued))
    events: list[dict[str, Any]] = []
    if answer is None:
        end = at + hangup_after_ms
        states.append(("hangup", end))
        events += _leg(
            entry_point,
            DESK,
            phone,
            states,
            started=at,
            rang=at + S,
            queued=queued,
            first_rang=first_rang,
            **group,
        )
        for call_id, agent, ring_at in rings:
            events += _leg(
                call_id, agent, phone, [("calling", ring_at), ("ringing", ring_at), ("hangup", end + 100)],
                started=ring_at, rang=ring_at, entry_point_call_id=entry_point, **group,
            )  # fmt: skip
        return events
    operator, connected, end = answer
    states += [("connected", connected + S), ("hangup", end)]
    events += _leg(
        entry_point, DESK, phone, states, started=at, rang=at + S, queued=queued,
        first_rang=first_rang, connected=connected + S, names_operator=(operator, connected + S),
        **group,
    )  # fmt: skip
    for call_id, agent, ring_at in rings:
        if call_id == operator:
            leg_states = [
                ("calling", ring_at),
                ("ringing", ring_at),
                ("connected", connected),
                ("hangup", end),
            ]
            events += _leg(
                call_id, agent, phone, leg_states, started=ring_at, rang=ring_at, connected=connected,
                entry_point_call_id=entry_point, **group,
            )  # fmt: skip
        else:
            events += _leg(
                call_id, agent, phone, [("calling", ring_at), ("ringing", ring_at), ("hangup", connected)],
                started=ring_at, rang=ring_at, entry_point_call_id=entry_point, **group,
            )  # fmt: skip
    return events


def _direct(
    call_id: int, agent: dict[str, Any], phone: str, at: int, talk_ms: int
) -> list[dict[str, Any]]:
    """A direct inbound call to an agent: rings 2 s after it starts, answered 8 s later."""
    states = [
        ("calling", at),
        ("ringing", at + 2 * S),
        ("connected", at + 10 * S),
        ("hangup", at + 10 * S + talk_ms),
    ]
    return _leg(call_id, agent, phone, states, started=at, rang=at + 2 * S, connected=at + 10 * S)


def kpi_events() -> list[dict[str, Any]]:
    """The fixture's Dialpad events, in a fixed order."""
    c1 = _ms("2026-03-08 13:00:00")
    c2 = _ms("2026-03-08 06:30:00")
    c3 = _ms("2026-03-08 22:10:00")
    c6 = _ms("2026-03-10 15:00:00")
    return [
        *_offer(
            100101, "+15550100", c1,
            [(100102, ANN, c1 + 5 * S), (100103, BEN, c1 + 6 * S)],
            answer=(100102, c1 + 20 * S, c1 + 320 * S), hangup_after_ms=0,
        ),
        *_offer(
            100201, "+15550200", c2, [(100202, ANN, c2 + 3 * S)],
            answer=None, hangup_after_ms=63 * S,
        ),
        *_offer(
            100301, "+15550300", c3, [(100302, BEN, c3 + 30 * S)],
            answer=(100302, c3 + 50 * S, c3 + 170 * S), queued_after_ms=2 * S, hangup_after_ms=0,
        ),
        *_direct(100401, ANN, "+15550100", _ms("2026-03-01 15:00:00"), 120 * S),
        *_direct(100501, BEN, "+15550100", _ms("2026-03-16 14:00:00"), 180 * S),
        *_offer(
            100601, "+15550600", c6, [(100602, BEN, c6 + 2 * S)],
            answer=(100602, c6 + 7 * S, c6 + 67 * S), hangup_after_ms=0,
        ),
    ]  # fmt: skip


def _ndjson(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(event, sort_keys=True) + "\n" for event in events)


@pytest.fixture(scope="session")
def kpi_warehouse(tmp_path_factory: pytest.TempPathFactory, _dbt_artifacts_apart: None) -> Path:
    """The fixture loaded by `callmart run` into a copy of the project with the fixture's
    business-hours seeds and reporting_timezone America/New_York: built once per test run and
    shared with tests/test_spark_kpi_parity.py (conftest's shared_folder); read it only."""
    return shared_folder(tmp_path_factory, "kpi", _build_kpi_warehouse) / "warehouse.duckdb"


def _build_kpi_warehouse(root: Path) -> None:
    project = root / "project"
    project.mkdir()
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(PROJECT / name, project / name)
    for folder in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT / folder, project / folder)
    for seed in ("call_center_business_hours.csv", "call_center_holidays.csv"):
        shutil.copy(KPI / seed, project / "seeds" / seed)
    config = project / "dbt_project.yml"
    text = config.read_text()
    assert "  reporting_timezone: UTC\n" in text
    config.write_text(
        text.replace("  reporting_timezone: UTC\n", "  reporting_timezone: America/New_York\n")
    )

    events = root / "kpi_events.ndjson"
    events.write_text(_ndjson(kpi_events()))
    db = root / "warehouse.duckdb"
    patcher = pytest.MonkeyPatch()
    patcher.setenv("CALLMART_PROJECT_DIR", str(project))
    try:
        assert main(["run", "--quiet", "--db", str(db), str(events)]) == 0
    finally:
        patcher.undo()


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _subset(row: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in keys}


def test_the_committed_fixture_is_what_the_helper_writes() -> None:
    assert (KPI / "events.ndjson").read_text() == _ndjson(kpi_events()), (
        "tests/fixtures/kpi/events.ndjson is stale: run `python tests/test_kpis.py`"
    )


def test_offers_waits_and_business_hours(kpi_warehouse: Path) -> None:
    rows = _rows(
        kpi_warehouse,
        "select offer_id, offer_outcome, epoch_ms(wait_start_at) as wait_start_at, "
        "answering_agent_id, speed_to_answer_ms, wait_ms, queue_ms, rung_agent_count, is_handled, "
        "talk_ms, handle_ms, has_business_hours, is_offered_in_hours, time_to_answer_business_ms, "
        "wait_business_ms from marts.fct_call_center_offers order by offer_id",
    )
    expected = [
        # in hours: waits from the first ring (13:00:05), answered 13:00:20
        {"offer_id": "100101", "offer_outcome": "answered", "wait_start_at": _ms("2026-03-08 13:00:05"), "answering_agent_id": "7001", "speed_to_answer_ms": 15000, "wait_ms": 15000, "queue_ms": 0, "rung_agent_count": 2, "is_handled": True, "talk_ms": 300000, "handle_ms": 300000, "has_business_hours": True, "is_offered_in_hours": True, "time_to_answer_business_ms": 15000, "wait_business_ms": 15000},
        # 01:30 EST, closed: 60 s of wait, none of it in business hours (the desk opens 12:00 UTC)
        {"offer_id": "100201", "offer_outcome": "abandoned", "wait_start_at": _ms("2026-03-08 06:30:03"), "answering_agent_id": None, "speed_to_answer_ms": None, "wait_ms": 60000, "queue_ms": 0, "rung_agent_count": 1, "is_handled": False, "talk_ms": None, "handle_ms": None, "has_business_hours": True, "is_offered_in_hours": False, "time_to_answer_business_ms": None, "wait_business_ms": 0},
        # after closing time (18:10 EDT): waits from the queue (22:10:02), answered 22:10:50
        {"offer_id": "100301", "offer_outcome": "answered", "wait_start_at": _ms("2026-03-08 22:10:02"), "answering_agent_id": "7002", "speed_to_answer_ms": 48000, "wait_ms": 48000, "queue_ms": 49000, "rung_agent_count": 1, "is_handled": True, "talk_ms": 120000, "handle_ms": 120000, "has_business_hours": True, "is_offered_in_hours": False, "time_to_answer_business_ms": 0, "wait_business_ms": 0},
        # the desk's holiday: closed all day although 11:00 is within its weekly hours
        {"offer_id": "100601", "offer_outcome": "answered", "wait_start_at": _ms("2026-03-10 15:00:02"), "answering_agent_id": "7002", "speed_to_answer_ms": 5000, "wait_ms": 5000, "queue_ms": 0, "rung_agent_count": 1, "is_handled": True, "talk_ms": 60000, "handle_ms": 60000, "has_business_hours": True, "is_offered_in_hours": False, "time_to_answer_business_ms": 0, "wait_business_ms": 0},
    ]  # fmt: skip
    assert rows == expected


def test_hourly_mart_on_the_day_clocks_spring_forward(kpi_warehouse: Path) -> None:
    rows = _rows(
        kpi_warehouse,
        "select strftime(hour_start_at, '%Y-%m-%d %H:%M') as hour_start_at, "
        "strftime(hour_start_local, '%Y-%m-%d %H:%M') as hour_start_local, "
        "cast(reporting_date as varchar) as reporting_date, reporting_timezone, call_center_name, "
        "offered_count, answered_count, abandoned_count, abandoned_after_ring_count, "
        "voicemail_count, overflow_count, in_progress_count, answered_within_sl_count, "
        "service_level_base_count, service_level, abandonment_rate, speed_to_answer_ms_sum, asa_ms, "
        "max_wait_ms, wait_ms_sum, finished_count, queued_count, queue_ms_sum, handled_count, "
        "handle_ms, aht_ms, transferred_count, transfer_rate, offered_in_hours_count, "
        "answered_within_sl_in_hours_count, service_level_in_hours_base_count, "
        "service_level_in_hours from marts.agg_call_center_hourly order by hour_start_at",
    )
    common = {
        "reporting_timezone": "America/New_York",
        "call_center_name": "KPI Desk",
        "voicemail_count": 0,
        "overflow_count": 0,
        "in_progress_count": 0,
        "transferred_count": 0,
    }
    expected = [
        # 06:30 UTC is 01:30 EST: the 01:00 local hour began at 06:00 UTC
        {**common, "hour_start_at": "2026-03-08 06:00", "hour_start_local": "2026-03-08 01:00", "reporting_date": "2026-03-08", "offered_count": 1, "answered_count": 0, "abandoned_count": 1, "abandoned_after_ring_count": 1, "answered_within_sl_count": 0, "service_level_base_count": 1, "service_level": 0.0, "abandonment_rate": 1.0, "speed_to_answer_ms_sum": None, "asa_ms": None, "max_wait_ms": 60000, "wait_ms_sum": 60000, "finished_count": 1, "queued_count": 0, "queue_ms_sum": 0, "handled_count": 0, "handle_ms": None, "aht_ms": None, "transfer_rate": None, "offered_in_hours_count": 0, "answered_within_sl_in_hours_count": 0, "service_level_in_hours_base_count": 0, "service_level_in_hours": None},
        # 13:00 UTC is 09:00 EDT (UTC-4 after the jump)
        {**common, "hour_start_at": "2026-03-08 13:00", "hour_start_local": "2026-03-08 09:00", "reporting_date": "2026-03-08", "offered_count": 1, "answered_count": 1, "abandoned_count": 0, "abandoned_after_ring_count": 0, "answered_within_sl_count": 1, "service_level_base_count": 1, "service_level": 1.0, "abandonment_rate": 0.0, "speed_to_answer_ms_sum": 15000, "asa_ms": 15000.0, "max_wait_ms": 15000, "wait_ms_sum": 15000, "finished_count": 1, "queued_count": 0, "queue_ms_sum": 0, "handled_count": 1, "handle_ms": 300000, "aht_ms": 300000.0, "transfer_rate": 0.0, "offered_in_hours_count": 1, "answered_within_sl_in_hours_count": 1, "service_level_in_hours_base_count": 1, "service_level_in_hours": 1.0},
        # offered after closing time: a service-level miss (48 s), absent from the in-hours counts
        {**common, "hour_start_at": "2026-03-08 22:00", "hour_start_local": "2026-03-08 18:00", "reporting_date": "2026-03-08", "offered_count": 1, "answered_count": 1, "abandoned_count": 0, "abandoned_after_ring_count": 0, "answered_within_sl_count": 0, "service_level_base_count": 1, "service_level": 0.0, "abandonment_rate": 0.0, "speed_to_answer_ms_sum": 48000, "asa_ms": 48000.0, "max_wait_ms": 48000, "wait_ms_sum": 48000, "finished_count": 1, "queued_count": 1, "queue_ms_sum": 49000, "handled_count": 1, "handle_ms": 120000, "aht_ms": 120000.0, "transfer_rate": 0.0, "offered_in_hours_count": 0, "answered_within_sl_in_hours_count": 0, "service_level_in_hours_base_count": 0, "service_level_in_hours": None},
        # the holiday: answered in 5 s, but not offered in hours
        {**common, "hour_start_at": "2026-03-10 15:00", "hour_start_local": "2026-03-10 11:00", "reporting_date": "2026-03-10", "offered_count": 1, "answered_count": 1, "abandoned_count": 0, "abandoned_after_ring_count": 0, "answered_within_sl_count": 1, "service_level_base_count": 1, "service_level": 1.0, "abandonment_rate": 0.0, "speed_to_answer_ms_sum": 5000, "asa_ms": 5000.0, "max_wait_ms": 5000, "wait_ms_sum": 5000, "finished_count": 1, "queued_count": 0, "queue_ms_sum": 0, "handled_count": 1, "handle_ms": 60000, "aht_ms": 60000.0, "transfer_rate": 0.0, "offered_in_hours_count": 0, "answered_within_sl_in_hours_count": 0, "service_level_in_hours_base_count": 0, "service_level_in_hours": None},
    ]  # fmt: skip
    assert rows == expected


def test_the_spring_forward_day_rolls_up_from_its_hours(kpi_warehouse: Path) -> None:
    """A day's service level is Σ within-SL ÷ Σ base over its hours, never an average of rates."""
    (day,) = _rows(
        kpi_warehouse,
        "select sum(offered_count) as offered, sum(answered_within_sl_count) as within_sl, "
        "sum(service_level_base_count) as base, "
        "sum(answered_within_sl_count) / sum(service_level_base_count) as service_level, "
        "sum(speed_to_answer_ms_sum) / sum(answered_count) as asa_ms "
        "from marts.agg_call_center_hourly where reporting_date = date '2026-03-08'",
    )
    assert day == {
        "offered": 3,
        "within_sl": 1,
        "base": 3,
        "service_level": pytest.approx(1 / 3),
        "asa_ms": 31500.0,
    }


def test_repeat_contacts_on_day_7_and_day_8(kpi_warehouse: Path) -> None:
    rows = _rows(
        kpi_warehouse,
        "select conversation_id, is_repeat_contact, previous_conversation_id "
        "from marts.fct_conversations where contact_number = '+15550100' order by started_at",
    )
    assert rows == [
        {"conversation_id": "100401", "is_repeat_contact": False, "previous_conversation_id": None},
        {
            "conversation_id": "100101",
            "is_repeat_contact": True,
            "previous_conversation_id": "100401",
        },
        {"conversation_id": "100501", "is_repeat_contact": False, "previous_conversation_id": None},
    ]


def test_agent_daily_mart_and_first_contact_resolution(kpi_warehouse: Path) -> None:
    keys = {
        "reporting_date": None, "agent_id": None, "agent_name": None, "offered_leg_count": None,
        "answered_leg_count": None, "missed_leg_count": None, "handled_leg_count": None,
        "conversations_handled_count": None, "conversations_as_first_agent_count": None,
        "conversations_as_last_agent_count": None, "first_contact_resolved_count": None,
        "fcr_rate": None, "transfers_out_count": None, "talk_ms": None, "handle_ms": None,
        "aht_ms": None, "answer_delay_ms_sum": None, "avg_answer_delay_ms": None,
    }  # fmt: skip
    rows = _rows(
        kpi_warehouse,
        "select * replace (cast(reporting_date as varchar) as reporting_date) "
        "from marts.agg_agent_daily order by agent_id, reporting_date",
    )
    expected = [
        # direct call 100401, later repeated by 100101 (day 7): not resolved on first contact
        {"reporting_date": "2026-03-01", "agent_id": "7001", "agent_name": "Ann Kpi", "offered_leg_count": 1, "answered_leg_count": 1, "missed_leg_count": 0, "handled_leg_count": 1, "conversations_handled_count": 1, "conversations_as_first_agent_count": 1, "conversations_as_last_agent_count": 1, "first_contact_resolved_count": 0, "fcr_rate": 0.0, "transfers_out_count": 0, "talk_ms": 120000, "handle_ms": 120000, "aht_ms": 120000.0, "answer_delay_ms_sum": 8000, "avg_answer_delay_ms": 8000.0},
        # rung for 100201 at 01:30 EST (missed) and operator of 100101 (answered 15 s after ringing)
        {"reporting_date": "2026-03-08", "agent_id": "7001", "agent_name": "Ann Kpi", "offered_leg_count": 2, "answered_leg_count": 1, "missed_leg_count": 1, "handled_leg_count": 1, "conversations_handled_count": 1, "conversations_as_first_agent_count": 1, "conversations_as_last_agent_count": 1, "first_contact_resolved_count": 1, "fcr_rate": 1.0, "transfers_out_count": 0, "talk_ms": 300000, "handle_ms": 300000, "aht_ms": 300000.0, "answer_delay_ms_sum": 15000, "avg_answer_delay_ms": 15000.0},
        # rung for 100101 (a colleague answered: missed) and operator of 100301 at 18:10 EDT
        {"reporting_date": "2026-03-08", "agent_id": "7002", "agent_name": "Ben Kpi", "offered_leg_count": 2, "answered_leg_count": 1, "missed_leg_count": 1, "handled_leg_count": 1, "conversations_handled_count": 1, "conversations_as_first_agent_count": 1, "conversations_as_last_agent_count": 1, "first_contact_resolved_count": 1, "fcr_rate": 1.0, "transfers_out_count": 0, "talk_ms": 120000, "handle_ms": 120000, "aht_ms": 120000.0, "answer_delay_ms_sum": 20000, "avg_answer_delay_ms": 20000.0},
        {"reporting_date": "2026-03-10", "agent_id": "7002", "agent_name": "Ben Kpi", "offered_leg_count": 1, "answered_leg_count": 1, "missed_leg_count": 0, "handled_leg_count": 1, "conversations_handled_count": 1, "conversations_as_first_agent_count": 1, "conversations_as_last_agent_count": 1, "first_contact_resolved_count": 1, "fcr_rate": 1.0, "transfers_out_count": 0, "talk_ms": 60000, "handle_ms": 60000, "aht_ms": 60000.0, "answer_delay_ms_sum": 5000, "avg_answer_delay_ms": 5000.0},
        # 100501 is day 8 after 100101: not a repeat, and nothing repeats it
        {"reporting_date": "2026-03-16", "agent_id": "7002", "agent_name": "Ben Kpi", "offered_leg_count": 1, "answered_leg_count": 1, "missed_leg_count": 0, "handled_leg_count": 1, "conversations_handled_count": 1, "conversations_as_first_agent_count": 1, "conversations_as_last_agent_count": 1, "first_contact_resolved_count": 1, "fcr_rate": 1.0, "transfers_out_count": 0, "talk_ms": 180000, "handle_ms": 180000, "aht_ms": 180000.0, "answer_delay_ms_sum": 8000, "avg_answer_delay_ms": 8000.0},
    ]  # fmt: skip
    assert [_subset(row, keys) for row in rows] == expected


def test_dbt_docs_document_every_reporting_column(kpi_warehouse: Path, tmp_path: Path) -> None:
    """`dbt docs generate` works, and every column of every mart and of every intermediate
    model has a description (the catalog's columns against the manifest's)."""
    project = kpi_warehouse.parent / "project"
    target = tmp_path / "docs_target"
    # dbt opens its warehouse for writing: a copy, so other workers can read the shared one
    db = shutil.copy(kpi_warehouse, tmp_path / "warehouse.duckdb")
    env = {**dbt_environment(), "CALLMART_DB": str(db), "DBT_TARGET_PATH": str(target)}
    completed = subprocess.run(
        [
            sys.executable, "-c", DBT_CLI,
            "docs", "generate", "--project-dir", str(project), "--profiles-dir", str(project),
        ],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    undocumented = []
    checked = 0
    for unique_id, node in catalog["nodes"].items():
        model = manifest["nodes"].get(unique_id, {})
        path = model.get("original_file_path", "")
        if not (path.startswith("models/marts/") or path.startswith("models/intermediate/")):
            continue
        checked += 1
        documented = {
            name.lower() for name, column in model["columns"].items() if column.get("description")
        }
        if not model.get("description"):
            undocumented.append(f"{unique_id}: no description")
        undocumented += [
            f"{unique_id}.{name}" for name in node["columns"] if name.lower() not in documented
        ]
    assert checked >= 42  # 8 marts, 34 intermediates (and any model added later)
    assert undocumented == []


if __name__ == "__main__":
    (KPI / "events.ndjson").write_text(_ndjson(kpi_events()))
    print(f"wrote {KPI / 'events.ndjson'}")
