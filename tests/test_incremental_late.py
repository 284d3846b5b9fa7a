"""Incremental builds equal full builds (docs/performance.md, "Incremental builds"): late
events, by hand (the random batches are tests/test_incremental.py).

A CSAT and a recording event a day after their call (and an open leg whose end is inferred
once the data watermark has moved on), a transfer leg arriving in the next batch, an operator
leg arriving before its entry point (two conversations that merge into one: the old
conversation id disappears from every mart). The Spark parity test
(tests/test_spark_parity.py) adds these scenarios to its batches.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import SECRET, assert_marts_equal, event, run, sign, write_lines

from ingest.raw_tables import STATE_DATE

DAY = 86_400_000
T0 = 1_772_445_600_000  # 2026-03-02 10:00:00 UTC: the merge scenario
T1 = T0 + 3_600_000  # 11:00: the transfer scenario
T2 = T0 + 7_200_000  # 12:00: the late CSAT and recording, and the open leg


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "type": "user",
        "id": user_id,
        "name": name,
        "email": f"{name.lower()}@late.test",
        "phone": f"+1555900{user_id % 1000:04d}",
        "office_id": 600,
    }


ANN, BEN, CAT = _user(9001, "Ann"), _user(9002, "Ben"), _user(9003, "Cat")
SUPPORT = {"type": "callcenter", "id": 7001, "name": "Support", "phone": "+15559007001"}
FRONT_DESK = {"type": "department", "id": 7002, "name": "Front desk", "phone": "+15559007002"}


def _contact(phone: str) -> dict[str, Any]:
    return {"type": "contact", "id": int(phone[1:]), "name": f"Caller {phone[-4:]}", "phone": phone}


def _leg(
    call_id: int, states: list[tuple[str, int]], started: int, **fields: Any
) -> list[dict[str, Any]]:
    """One leg's events: (state, unix ms) pairs; the ringing, connected and hangup events carry
    their own dates (docs/contract.md §3's state -> date rule), and every later event keeps them."""
    dates = {state: STATE_DATE[state] for state in ("ringing", "connected", "hangup")}
    events, known = [], {}
    for state, at in states:
        if state in dates:
            known[dates[state]] = at
        events.append(
            event(call_id, state, date_started=started, event_timestamp=at, **known, **fields)
        )
    return events


def merge_scenario() -> tuple[list[Any], list[Any]]:
    """A main line routes a caller to call center Support; Ann operates the entry point.

    1001 main line (Front desk), 10:00:00-10:00:10; 1002 entry point (Support, names 1001 as
    master and 1003 as operator), 10:00:10-10:01:20, connected 10:00:20.5; 1003 Ann's
    operator leg (names 1002 as entry point), rang 10:00:12, connected 10:00:20, ended
    10:01:20. Batch 1 holds 1001 and 1003 only: two conversations, 1001 (the main line, no
    agent) and 1003 (1003 operates 1002, known by reference only). Batch 2 brings 1002's
    events, which link all three: one conversation, 1001.
    """
    caller = _contact("+15550001001")
    main_line = _leg(
        1001,
        [("calling", T0), ("connected", T0 + 2_000), ("hangup", T0 + 10_000)],
        T0,
        target=FRONT_DESK,
        contact=caller,
        external_number=caller["phone"],
    )
    entry_point = _leg(
        1002,
        [("calling", T0 + 10_000), ("connected", T0 + 20_500), ("hangup", T0 + 80_000)],
        T0 + 10_000,
        target=SUPPORT,
        contact=caller,
        master_call_id=1001,
        operator_call_id=1003,
    )
    operator = _leg(
        1003,
        [("ringing", T0 + 12_000), ("connected", T0 + 20_000), ("hangup", T0 + 80_000)],
        T0 + 12_000,
        target=ANN,
        contact=caller,
        entry_point_call_id=1002,
    )
    return main_line + [sign(payload) for payload in operator], entry_point


def transfer_scenario() -> tuple[list[Any], list[Any]]:
    """Ben answers 2001 and transfers the caller to Cat, whose leg 2002 arrives a batch later.

    2001 inbound to Ben: 11:00:00, connected 11:00:05, ended 11:01:05, is_transferred.
    2002 inbound to Cat (master_call_id 2001): 11:01:06, connected 11:01:10, ended 11:02:10.
    """
    caller = _contact("+15550002001")
    first = _leg(
        2001,
        [("calling", T1), ("connected", T1 + 5_000), ("hangup", T1 + 65_000)],
        T1,
        target=BEN,
        contact=caller,
    )
    first[-1]["is_transferred"] = True
    second = _leg(
        2002,
        [("calling", T1 + 66_000), ("connected", T1 + 70_000), ("hangup", T1 + 130_000)],
        T1 + 66_000,
        target=CAT,
        contact=caller,
        master_call_id=2001,
    )
    return first, second


def late_annotation_scenario() -> tuple[list[Any], list[Any]]:
    """A CSAT and a recording a day after their call, and an open leg that times out.

    3001 inbound to Ann: 12:00:00, connected 12:00:05, ended 12:01:05. A day later: its csat
    event (score "4") and its recording event (one call recording, r-3001).
    3101 outbound by Ben: 12:01:40, connected 12:01:50, and no end: open after batch 1 (the
    data watermark is minutes away), inferred to end at its last live event (12:01:50) once
    batch 2 moves the watermark a day on (open_leg_timeout_hours: 12).
    """
    caller = _contact("+15550003001")
    answered = _leg(
        3001,
        [("calling", T2), ("connected", T2 + 5_000), ("hangup", T2 + 65_000)],
        T2,
        target=ANN,
        contact=caller,
    )
    recorded_at = T2 + DAY
    late = [
        event(
            3001,
            "csat",
            date_started=T2,
            event_timestamp=recorded_at,
            csat_score="4",
            target=ANN,
            contact=caller,
        ),
        event(
            3001,
            "recording",
            date_started=T2,
            event_timestamp=recorded_at + 1_000,
            was_recorded=True,
            target=ANN,
            contact=caller,
            recording_details=[
                {
                    "id": "r-3001",
                    "url": "https://rec.test/r-3001",
                    "duration": 60,
                    "start_time": T2 + 5_000,
                    "recording_type": "callrecording",
                }
            ],
        ),
    ]
    open_leg = _leg(
        3101,
        [("calling", T2 + 100_000), ("connected", T2 + 110_000)],
        T2 + 100_000,
        direction="outbound",
        target=BEN,
        contact=_contact("+15550003101"),
    )
    return answered + open_leg, late


@dataclass
class LateEvents:
    after_first: Path  # the warehouse after batch 1 (a copy)
    batched: Path  # after batch 1, then batch 2
    whole: Path  # both batches in one run


@pytest.fixture(scope="module")
def late_events(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LateEvents]:
    folder = tmp_path_factory.mktemp("late")
    firsts, seconds = zip(
        merge_scenario(), transfer_scenario(), late_annotation_scenario(), strict=True
    )
    first = write_lines(folder / "batch1.ndjson", [e for batch in firsts for e in batch])
    second = write_lines(folder / "batch2.ndjson", [e for batch in seconds for e in batch])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
        batched, whole, after_first = (
            folder / "batched.duckdb",
            folder / "whole.duckdb",
            folder / "after_first.duckdb",
        )
        assert run(batched, first) == 0
        shutil.copyfile(batched, after_first)
        assert run(batched, second) == 0
        assert run(whole, first, second) == 0
        yield LateEvents(after_first, batched, whole)


def _rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _ms(db: Path, table: str, where: str, columns: str) -> list[dict[str, Any]]:
    """Rows of a mart, timestamps as unix ms."""
    with duckdb.connect(str(db), read_only=True) as con:
        kinds = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = 'marts' and table_name = ?",
                [table],
            ).fetchall()
        )
    select = ", ".join(
        f"epoch_ms({c}) as {c}" if kinds[c].startswith("TIMESTAMP") else c
        for c in (c.strip() for c in columns.split(","))
    )
    return _rows(db, f"select {select} from marts.{table} where {where} order by all")


def test_late_events_build_the_same_marts_as_one_build(late_events: LateEvents) -> None:
    assert_marts_equal(late_events.batched, late_events.whole)


def test_a_late_entry_point_merges_two_conversations(late_events: LateEvents) -> None:
    before = _ms(
        late_events.after_first,
        "fct_conversations",
        "conversation_id in ('1001', '1003')",
        "conversation_id, leg_count, outcome, first_agent_id, answered_at",
    )
    assert before == [
        {
            "conversation_id": "1001",
            "leg_count": 1,
            "outcome": "missed",
            "first_agent_id": None,
            "answered_at": None,
        },
        {
            "conversation_id": "1003",
            "leg_count": 1,
            "outcome": "answered",
            "first_agent_id": "9001",
            "answered_at": T0 + 20_000,
        },
    ]
    # After the entry point arrives: one conversation named after its earliest leg, 1001.
    # Answer intervals [10:00:20, 10:01:20] (Ann) and [10:00:20.5, 10:01:20] (the entry point
    # names its operator): answered at +20 s, union 60 s, so wait = 80 s - 60 s = 20 s.
    assert _ms(
        late_events.batched,
        "fct_conversations",
        "conversation_id in ('1001', '1003')",
        "conversation_id, direction, started_at, ended_at, is_complete, outcome, "
        "was_queued, leg_count, transfer_count, agent_count, first_agent_id, "
        "last_agent_id, answered_at, time_to_answer_ms, wait_ms, talk_ms, hold_ms, "
        "contact_number, entry_target_id, entry_target_type",
    ) == [
        {
            "conversation_id": "1001",
            "direction": "inbound",
            "started_at": T0,
            "ended_at": T0 + 80_000,
            "is_complete": True,
            "outcome": "answered",
            "was_queued": True,
            "leg_count": 3,
            "transfer_count": 0,
            "agent_count": 1,
            "first_agent_id": "9001",
            "last_agent_id": "9001",
            "answered_at": T0 + 20_000,
            "time_to_answer_ms": 20_000,
            "wait_ms": 20_000,
            "talk_ms": 60_000,
            "hold_ms": 0,
            "contact_number": "+15550001001",
            "entry_target_id": "7002",
            "entry_target_type": "department",
        },
    ]
    assert _ms(
        late_events.batched,
        "fct_call_legs",
        "leg_id in ('1001', '1002', '1003')",
        "leg_id, conversation_id, leg_role",
    ) == [
        {"leg_id": "1001", "conversation_id": "1001", "leg_role": "direct"},
        {"leg_id": "1002", "conversation_id": "1001", "leg_role": "entry_point"},
        {"leg_id": "1003", "conversation_id": "1001", "leg_role": "operator"},
    ]
    # The offer: waiting from its start (no queue, no first ring), answered by Ann at +10 s.
    assert _ms(
        late_events.batched,
        "fct_call_center_offers",
        "offer_id = '1002'",
        "offer_id, conversation_id, call_center_id, offered_at, answered_at, "
        "answering_leg_id, answering_agent_id, speed_to_answer_ms, offer_outcome",
    ) == [
        {
            "offer_id": "1002",
            "conversation_id": "1001",
            "call_center_id": "7001",
            "offered_at": T0 + 10_000,
            "answered_at": T0 + 20_000,
            "answering_leg_id": "1003",
            "answering_agent_id": "9001",
            "speed_to_answer_ms": 10_000,
            "offer_outcome": "answered",
        },
    ]
    # The old conversation id is gone from every mart that names conversations.
    for table in ("fct_conversations", "fct_call_legs", "fct_leg_states", "fct_call_center_offers"):
        where = "conversation_id = '1003'"
        assert _rows(late_events.batched, f"select * from marts.{table} where {where}") == []
    assert (
        _rows(
            late_events.batched,
            "select * from marts.fct_conversations where previous_conversation_id = '1003'",
        )
        == []
    )


def test_a_transfer_leg_of_the_next_batch_joins_its_conversation(late_events: LateEvents) -> None:
    columns = (
        "conversation_id, leg_count, transfer_count, agent_count, first_agent_id, "
        "last_agent_id, talk_ms, wait_ms, is_complete"
    )
    assert _ms(
        late_events.after_first, "fct_conversations", "conversation_id = '2001'", columns
    ) == [
        {
            "conversation_id": "2001",
            "leg_count": 1,
            "transfer_count": 1,
            "agent_count": 1,
            "first_agent_id": "9002",
            "last_agent_id": "9002",
            "talk_ms": 60_000,
            "wait_ms": 5_000,
            "is_complete": True,
        },
    ]
    # Cat's leg joins: two agents, Ben first and Cat last; talk 60 s + 60 s; wait = 130 s
    # minus the answered 120 s = 10 s (5 s ringing Ben, 5 s between the transfer and Cat).
    assert _ms(
        late_events.batched, "fct_conversations", "conversation_id in ('2001', '2002')", columns
    ) == [
        {
            "conversation_id": "2001",
            "leg_count": 2,
            "transfer_count": 1,
            "agent_count": 2,
            "first_agent_id": "9002",
            "last_agent_id": "9003",
            "talk_ms": 120_000,
            "wait_ms": 10_000,
            "is_complete": True,
        },
    ]


def test_post_call_events_a_day_late_and_an_open_leg_timing_out(late_events: LateEvents) -> None:
    columns = "conversation_id, outcome, csat_score, is_recorded, recording_count, ended_at"
    assert _ms(
        late_events.after_first, "fct_conversations", "conversation_id = '3001'", columns
    ) == [
        {
            "conversation_id": "3001",
            "outcome": "answered",
            "csat_score": None,
            "is_recorded": False,
            "recording_count": 0,
            "ended_at": T2 + 65_000,
        },
    ]
    assert _ms(late_events.batched, "fct_conversations", "conversation_id = '3001'", columns) == [
        {
            "conversation_id": "3001",
            "outcome": "answered",
            "csat_score": 4,
            "is_recorded": True,
            "recording_count": 1,
            "ended_at": T2 + 65_000,
        },
    ]
    # The open leg got no event of its own in batch 2, but the data watermark moved a day on.
    leg_columns = "leg_id, ended_at, is_end_inferred, last_live_state"
    assert _ms(late_events.after_first, "fct_call_legs", "leg_id = '3101'", leg_columns) == [
        {
            "leg_id": "3101",
            "ended_at": None,
            "is_end_inferred": False,
            "last_live_state": "connected",
        },
    ]
    assert _ms(late_events.batched, "fct_call_legs", "leg_id = '3101'", leg_columns) == [
        {
            "leg_id": "3101",
            "ended_at": T2 + 110_000,
            "is_end_inferred": True,
            "last_live_state": "connected",
        },
    ]
    conversation = "conversation_id, is_complete, outcome, ended_at"
    assert _ms(
        late_events.after_first, "fct_conversations", "conversation_id = '3101'", conversation
    ) == [
        {"conversation_id": "3101", "is_complete": False, "outcome": "answered", "ended_at": None},
    ]
    assert _ms(
        late_events.batched, "fct_conversations", "conversation_id = '3101'", conversation
    ) == [
        {
            "conversation_id": "3101",
            "is_complete": True,
            "outcome": "answered",
            "ended_at": T2 + 110_000,
        },
    ]
