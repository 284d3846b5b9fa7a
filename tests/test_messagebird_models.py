"""MessageBird through `callmart run`: hand-written calls and legs, values worked out by hand.

One warehouse, built once from two landing files that mix Dialpad and MessageBird records in
every MessageBird shape (single objects, a list response, envelopes); one leg's older
snapshot arrives in the second file, after the newer one. The rules themselves are pinned by
the dbt unit tests beside the models; this checks that they meet in the marts. Then the call
history without legs (docs/contract.md §8, last paragraph), loaded before its legs, and a leg that
ends before it was answered (a vendor clock error, docs/contract.md §9), each in a warehouse of its
own.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import event, write_lines

from ingest.cli import main

VN, CALLER, CUSTOMER = "+31200000001", "+31611111111", "+31622222222"
AGENT_1, AGENT_2 = "+31600000001", "+31600000002"


def call(call_id: str, status: str, updated: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": call_id,
        "status": status,
        "source": CALLER,
        "destination": VN,
        "numberId": "num-1",
        "createdAt": "2026-03-02T10:00:00Z",
        "updatedAt": updated,
        "endedAt": None,
    }
    return {**base, **fields}


def leg(leg_id: str, call_id: str, status: str, updated: str, **fields: Any) -> dict[str, Any]:
    base = {
        "id": leg_id,
        "callId": call_id,
        "source": VN,
        "destination": AGENT_1,
        "status": status,
        "direction": "outgoing",
        "cost": 0,
        "currency": "EUR",
        "duration": 0,
        "createdAt": "2026-03-02T10:00:10Z",
        "updatedAt": updated,
        "answeredAt": None,
        "endedAt": None,
    }
    return {**base, **fields}


def envelope(payload: dict[str, Any]) -> dict[str, Any]:
    return {"received_at": "2026-03-02T12:00:00.000Z", "payload": payload, "headers": {}}


# call-a, inbound, answered by AGENT_1 (10:00:20 - 10:03:00); the call ends at 10:03:01
A_IN = {
    "direction": "incoming",
    "source": CALLER,
    "destination": VN,
    "createdAt": "2026-03-02T10:00:00Z",
}
A_IN_END = {**A_IN, "answeredAt": "2026-03-02T10:00:03Z", "endedAt": "2026-03-02T10:03:00Z"}
A_AG_RINGING = leg("a-ag", "call-a", "ringing", "2026-03-02T10:00:11Z")
A_AG_END = leg(
    "a-ag", "call-a", "completed", "2026-03-02T10:03:00Z",
    answeredAt="2026-03-02T10:00:20Z", endedAt="2026-03-02T10:03:00Z", duration=160,
)  # fmt: skip
# call-b, inbound: AGENT_1 answers and hands on; AGENT_2 answers; no call object arrives
B_IN = {
    "direction": "incoming",
    "source": CALLER,
    "destination": VN,
    "createdAt": "2026-03-02T11:00:00Z",
}
B_LEGS = [
    leg("b-in", "call-b", "hangup", "2026-03-02T11:05:00Z", **B_IN,
        answeredAt="2026-03-02T11:00:02Z", endedAt="2026-03-02T11:05:00Z"),
    leg("b-ag1", "call-b", "hangup", "2026-03-02T11:02:00Z", createdAt="2026-03-02T11:00:10Z",
        answeredAt="2026-03-02T11:00:20Z", endedAt="2026-03-02T11:02:00Z"),
    leg("b-ag2", "call-b", "hangup", "2026-03-02T11:05:00Z", destination=AGENT_2,
        createdAt="2026-03-02T11:02:05Z", answeredAt="2026-03-02T11:02:15Z",
        endedAt="2026-03-02T11:05:00Z"),
]  # fmt: skip
# call-c, outbound API call, no answer
C_CALL = call(
    "call-c", "ended", "2026-03-02T12:00:31Z", source=VN, destination=CUSTOMER, numberId=None,
    createdAt="2026-03-02T12:00:00Z", endedAt="2026-03-02T12:00:31Z",
)  # fmt: skip
C_LEG = leg(
    "c-out", "call-c", "no-answer", "2026-03-02T12:00:30Z", destination=CUSTOMER,
    createdAt="2026-03-02T12:00:01Z", endedAt="2026-03-02T12:00:30Z",
)  # fmt: skip


T1052 = 1_772_448_720_000  # 2026-03-02T10:52:00Z
K_CALL = call(
    "clock-k", "ended", "2026-03-02T10:52:06Z",
    createdAt="2026-03-02T10:51:50Z", endedAt="2026-03-02T10:52:06Z",
)  # fmt: skip
K_LEGS = [
    leg("clock-k-in", "clock-k", "hangup", "2026-03-02T10:52:05Z", direction="incoming",
        source=CALLER, destination=VN, createdAt="2026-03-02T10:51:50Z",
        answeredAt="2026-03-02T10:51:52Z", endedAt="2026-03-02T10:52:05Z", duration=13),
    leg("clock-k-ag", "clock-k", "hangup", "2026-03-02T10:52:04Z", destination=AGENT_2,
        cost=0.000385, currency="USD", duration=31, createdAt="2026-03-02T10:52:00Z",
        answeredAt="2026-03-02T10:52:30Z", endedAt="2026-03-02T10:52:04Z"),
]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("messagebird")
    first = write_lines(
        folder / "mixed_2026-03-02.ndjson",
        [
            call("call-a", "starting", "2026-03-02T10:00:00Z"),
            envelope(call("call-a", "ended", "2026-03-02T10:03:01Z", endedAt="2026-03-02T10:03:01Z")),
            leg("a-in", "call-a", "hangup", "2026-03-02T10:03:00Z", **A_IN_END),
            A_AG_END,
            envelope(A_AG_END),  # a redelivery: one snapshot
            {"data": B_LEGS, "pagination": {"totalCount": 3, "pageCount": 1, "currentPage": 1, "perPage": 3}},
            {"data": [C_CALL, C_LEG], "pagination": {"totalCount": 2, "pageCount": 1, "currentPage": 1, "perPage": 2}},
            K_CALL,
            *K_LEGS,
            event(9001, "calling", direction="outbound", date_started=1_772_449_200_000,
                  event_timestamp=1_772_449_200_000, target={"id": 77, "type": "user", "name": "Ann"}),
            event(9001, "hangup", direction="outbound", date_started=1_772_449_200_000,
                  date_ended=1_772_449_230_000, event_timestamp=1_772_449_230_000,
                  target={"id": 77, "type": "user", "name": "Ann"}),
        ],
    )  # fmt: skip
    late = write_lines(folder / "late_2026-03-03.ndjson.gz", [A_AG_RINGING, envelope(A_AG_RINGING)])
    db = folder / "warehouse.duckdb"
    assert main(["run", "--quiet", "--db", str(db), str(first), str(late)]) == 0
    return db


def rows(db: Path, sql: str) -> list[dict[str, Any]]:
    with duckdb.connect(str(db), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def conversation(db: Path, conversation_id: str) -> dict[str, Any]:
    [row] = rows(
        db,
        "select *, epoch_ms(started_at) as started_ms, epoch_ms(ended_at) as ended_ms, "
        f"epoch_ms(answered_at) as answered_ms from marts.fct_conversations "
        f"where conversation_id = '{conversation_id}'",
    )
    return row


T10 = 1_772_445_600_000  # 2026-03-02T10:00:00Z


def test_both_providers_share_the_marts(warehouse: Path) -> None:
    found = rows(
        warehouse, "select provider, count(*) as n from marts.fct_conversations group by 1"
    )
    assert {r["provider"]: r["n"] for r in found} == {"dialpad": 1, "messagebird": 4}
    loaded = rows(warehouse, "select count(*) as n from raw.messagebird_legs")
    assert loaded == [{"n": 9}]  # a-in, a-ag (2 snapshots), b-*, c-out, clock-k-*; one redelivery


def test_answered_inbound_call(warehouse: Path) -> None:
    row = conversation(warehouse, "call-a")
    assert (row["direction"], row["outcome"], row["is_complete"]) == ("inbound", "answered", True)
    assert (row["started_ms"], row["ended_ms"]) == (T10, T10 + 181_000)
    assert row["answered_ms"] == T10 + 20_000 and row["time_to_answer_ms"] == 20_000
    assert row["talk_ms"] == row["handle_ms"] == 160_000 and row["wait_ms"] == 21_000
    assert row["hold_ms"] is None and row["queue_ms"] is None and row["was_queued"]
    assert (row["first_agent_id"], row["agent_count"], row["transfer_count"]) == (AGENT_1, 1, 0)
    assert (row["entry_target_id"], row["entry_target_name"], row["contact_number"]) == (
        "num-1", VN, CALLER,
    )  # fmt: skip


def test_snapshot_arriving_after_a_newer_one(warehouse: Path) -> None:
    [agent] = rows(
        warehouse,
        "select leg_role, last_live_state, epoch_ms(rang_at) as rang_ms, "
        "epoch_ms(connected_at) as connected_ms, talk_ms from marts.fct_call_legs "
        "where leg_id = 'a-ag'",
    )
    assert agent == {
        "leg_role": "operator",
        "last_live_state": "hangup",  # delivered as `completed`; the late `ringing` loses
        "rang_ms": T10 + 11_000,  # ... but tells when the agent's phone rang
        "connected_ms": T10 + 20_000,
        "talk_ms": 160_000,
    }
    states = rows(
        warehouse,
        "select state, duration_ms, is_time_estimated from marts.fct_leg_states "
        "where leg_id = 'a-ag' order by entered_at",
    )
    assert [tuple(s.values()) for s in states] == [
        ("starting", 1_000, False), ("ringing", 9_000, False), ("ongoing", 160_000, False),
    ]  # fmt: skip


def test_two_agents_in_turn_without_a_call_object(warehouse: Path) -> None:
    row = conversation(warehouse, "call-b")
    assert (row["started_ms"], row["ended_ms"]) == (T10 + 3_600_000, T10 + 3_900_000)
    assert (row["transfer_count"], row["agent_count"]) == (1, 2)
    assert (row["first_agent_id"], row["last_agent_id"]) == (AGENT_1, AGENT_2)
    assert row["talk_ms"] == 100_000 + 165_000
    assert row["entry_target_id"] == VN  # no call object: the number dialled
    transferred = rows(
        warehouse,
        "select leg_id, is_transferred from marts.fct_call_legs "
        "where conversation_id = 'call-b' order by leg_id",
    )
    assert [tuple(r.values()) for r in transferred] == [
        ("b-ag1", True), ("b-ag2", False), ("b-in", False),
    ]  # fmt: skip
    agents = rows(
        warehouse,
        "select agent_id, name from marts.dim_agents where provider = 'messagebird' order by 1",
    )
    assert agents == [
        {"agent_id": AGENT_1, "name": AGENT_1},
        {"agent_id": AGENT_2, "name": AGENT_2},
    ]


def test_outbound_call_not_answered(warehouse: Path) -> None:
    row = conversation(warehouse, "call-c")
    assert (row["direction"], row["outcome"], row["leg_count"]) == ("outbound", "no_answer", 1)
    assert (row["started_ms"], row["ended_ms"]) == (T10 + 7_200_000, T10 + 7_231_000)
    assert row["agent_count"] == 0 and row["talk_ms"] is None and row["wait_ms"] is None
    assert row["contact_number"] == CUSTOMER and row["entry_target_id"] == VN
    [out] = rows(
        warehouse,
        "select leg_role, last_live_state from marts.fct_call_legs where leg_id = 'c-out'",
    )
    assert out == {"leg_role": "direct", "last_live_state": "no_answer"}


# -- Calls without legs: the call history first, the legs a load later -------------------
# docs/contract.md §8, last paragraph. Values by hand. hist-1, inbound to VN, created 09:00:00, ended
# 09:03:10; hist-2, created 09:10:00, still ongoing; both read from GET /calls (a list
# response of calls, no legs). hist-1's legs come a load later: the caller's (answered by the
# flow at 09:00:02) and AGENT_1's (answered 09:00:25, both ended 09:03:09). hist-3 goes the
# other way round: its outbound leg first (created 09:20:01, answered 09:20:10, ended
# 09:21:10), its call object (created 09:20:00, ended 09:21:11) a load later.

T9 = T10 - 3_600_000  # 2026-03-02T09:00:00Z
PAGE = {"pageCount": 1, "currentPage": 1}
H1_CALL = call(
    "hist-1", "ended", "2026-03-02T09:03:10Z",
    createdAt="2026-03-02T09:00:00Z", endedAt="2026-03-02T09:03:10Z",
)  # fmt: skip
H2_CALL = call("hist-2", "ongoing", "2026-03-02T09:10:04Z", createdAt="2026-03-02T09:10:00Z")
H1_LEGS = [
    leg("hist-1-in", "hist-1", "hangup", "2026-03-02T09:03:09Z", direction="incoming",
        source=CALLER, destination=VN, createdAt="2026-03-02T09:00:00Z",
        answeredAt="2026-03-02T09:00:02Z", endedAt="2026-03-02T09:03:09Z", duration=187),
    leg("hist-1-ag", "hist-1", "hangup", "2026-03-02T09:03:09Z", createdAt="2026-03-02T09:00:10Z",
        answeredAt="2026-03-02T09:00:25Z", endedAt="2026-03-02T09:03:09Z", duration=164),
]  # fmt: skip
H3_LEG = leg(
    "hist-3-out", "hist-3", "hangup", "2026-03-02T09:21:10Z", source=VN, destination=CUSTOMER,
    createdAt="2026-03-02T09:20:01Z", answeredAt="2026-03-02T09:20:10Z",
    endedAt="2026-03-02T09:21:10Z", duration=60,
)  # fmt: skip
H3_CALL = call(
    "hist-3", "ended", "2026-03-02T09:21:11Z", source=VN, destination=CUSTOMER, numberId=None,
    createdAt="2026-03-02T09:20:00Z", endedAt="2026-03-02T09:21:11Z",
)  # fmt: skip
MARTS = (
    "fct_conversations", "fct_call_legs", "fct_leg_states", "dim_agents",
    "fct_call_center_offers", "agg_call_center_hourly", "agg_agent_daily",
)  # fmt: skip


@dataclass
class History:
    after_first: Path  # the history load alone
    batched: Path  # then the legs load, built incrementally
    whole: Path  # both files in one run


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    folder = tmp_path_factory.mktemp("history")
    first = write_lines(
        folder / "messagebird_calls_history.ndjson",
        [{"data": [H1_CALL, H2_CALL], "pagination": {"totalCount": 2, "perPage": 2, **PAGE}}, H3_LEG],
    )  # fmt: skip
    second = write_lines(
        folder / "messagebird_legs.ndjson",
        [
            {"data": H1_LEGS, "pagination": {"totalCount": 2, "perPage": 2, **PAGE}},
            {"data": [H3_CALL], "pagination": {"totalCount": 1, "perPage": 1, **PAGE}},
        ],
    )
    batched, after_first, whole = (folder / name for name in ("b.duckdb", "a.duckdb", "w.duckdb"))
    assert main(["run", "--quiet", "--db", str(batched), str(first)]) == 0
    shutil.copyfile(batched, after_first)
    assert main(["run", "--quiet", "--db", str(batched), str(second)]) == 0
    assert main(["run", "--quiet", "--db", str(whole), str(first), str(second)]) == 0
    return History(after_first, batched, whole)


CONVERSATION_COLUMNS = (
    "conversation_id, direction, epoch_ms(started_at) as started_ms, "
    "epoch_ms(ended_at) as ended_ms, is_complete, outcome, was_queued, leg_count, agent_count, "
    "first_agent_id, epoch_ms(answered_at) as answered_ms, time_to_answer_ms, wait_ms, "
    "talk_ms, handle_ms, contact_number, entry_target_id"
)


def history_conversations(db: Path) -> list[dict[str, Any]]:
    return rows(
        db,
        f"select {CONVERSATION_COLUMNS} from marts.fct_conversations "
        "where provider = 'messagebird' order by conversation_id",
    )


def test_history_calls_without_legs_are_conversations(history: History) -> None:
    no_legs = {
        "direction": None, "is_complete": True, "outcome": "unknown", "was_queued": False,
        "leg_count": 0, "agent_count": 0, "first_agent_id": None, "answered_ms": None,
        "time_to_answer_ms": None, "wait_ms": None, "talk_ms": None, "handle_ms": None,
        "contact_number": None, "entry_target_id": None,
    }  # fmt: skip
    assert history_conversations(history.after_first) == [
        {**no_legs, "conversation_id": "hist-1", "started_ms": T9, "ended_ms": T9 + 190_000},
        {**no_legs, "conversation_id": "hist-2", "started_ms": T9 + 600_000, "ended_ms": None,
         "is_complete": False, "outcome": "in_progress"},
        {  # its leg without its call object: times from the leg
            "conversation_id": "hist-3", "direction": "outbound", "started_ms": T9 + 1_201_000,
            "ended_ms": T9 + 1_270_000, "is_complete": True, "outcome": "answered",
            "was_queued": False, "leg_count": 1, "agent_count": 0, "first_agent_id": None,
            "answered_ms": T9 + 1_210_000, "time_to_answer_ms": 9_000, "wait_ms": None,
            "talk_ms": 60_000, "handle_ms": 60_000, "contact_number": CUSTOMER,
            "entry_target_id": VN,
        },
    ]  # fmt: skip
    # no legs, so no leg rows, states, offers, agents or aggregates for them
    for table in ("fct_call_legs", "fct_leg_states", "fct_call_center_offers"):
        found = rows(
            history.after_first,
            f"select count(*) as n from marts.{table} "
            "where conversation_id in ('hist-1', 'hist-2')",
        )
        assert found == [{"n": 0}], table
    for table in ("agg_call_center_hourly", "agg_agent_daily", "dim_agents"):
        found = rows(
            history.after_first,
            f"select count(*) as n from marts.{table} where provider = 'messagebird'",
        )
        assert found == [{"n": 0}], table


def test_history_calls_gain_their_legs_and_real_outcome(history: History) -> None:
    # hist-1: 190 s long, AGENT_1 answered at +25 s and talked 09:00:25-09:03:09 = 164 s;
    # wait = 190 s - 164 s = 26 s. hist-2 is unchanged. hist-3 now has its call's times:
    # 09:20:00-09:21:11, answered at +10 s.
    assert history_conversations(history.batched) == [
        {
            "conversation_id": "hist-1", "direction": "inbound", "started_ms": T9,
            "ended_ms": T9 + 190_000, "is_complete": True, "outcome": "answered",
            "was_queued": True, "leg_count": 2, "agent_count": 1, "first_agent_id": AGENT_1,
            "answered_ms": T9 + 25_000, "time_to_answer_ms": 25_000, "wait_ms": 26_000,
            "talk_ms": 164_000, "handle_ms": 164_000, "contact_number": CALLER,
            "entry_target_id": "num-1",
        },
        {
            "conversation_id": "hist-2", "direction": None, "started_ms": T9 + 600_000,
            "ended_ms": None, "is_complete": False, "outcome": "in_progress", "was_queued": False,
            "leg_count": 0, "agent_count": 0, "first_agent_id": None, "answered_ms": None,
            "time_to_answer_ms": None, "wait_ms": None, "talk_ms": None, "handle_ms": None,
            "contact_number": None, "entry_target_id": None,
        },
        {
            "conversation_id": "hist-3", "direction": "outbound", "started_ms": T9 + 1_200_000,
            "ended_ms": T9 + 1_271_000, "is_complete": True, "outcome": "answered",
            "was_queued": False, "leg_count": 1, "agent_count": 0, "first_agent_id": None,
            "answered_ms": T9 + 1_210_000, "time_to_answer_ms": 10_000, "wait_ms": None,
            "talk_ms": 60_000, "handle_ms": 60_000, "contact_number": CUSTOMER,
            "entry_target_id": VN,
        },
    ]  # fmt: skip
    offers = rows(
        history.batched,
        "select offer_id, conversation_id, call_center_id, offer_outcome, speed_to_answer_ms "
        "from marts.fct_call_center_offers where provider = 'messagebird'",
    )
    # the offer waits from the caller leg's start (no ring seen): answered 25 s later
    assert offers == [
        {
            "offer_id": "hist-1-in", "conversation_id": "hist-1", "call_center_id": "num-1",
            "offer_outcome": "answered", "speed_to_answer_ms": 25_000,
        },
    ]  # fmt: skip


def test_history_then_legs_equals_one_build(history: History) -> None:
    def marts(db: Path) -> dict[str, list[tuple[Any, ...]]]:
        with duckdb.connect(str(db), read_only=True) as con:
            return {
                t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in MARTS
            }

    assert marts(history.batched) == marts(history.whole)


# -- A vendor clock error: a leg that ends 26 s before it was answered --------------------
# MessageBird's own API example leg does this (docs/contract.md §9, "Impossible times"). Here it is the
# agent leg of an inbound call: created 10:52:00, answeredAt 10:52:30, endedAt 10:52:04. The
# call: created 10:51:50, ended 10:52:06; the caller's leg answered by the flow at 10:51:52,
# ended 10:52:05. Times stay as delivered; every duration that comes out negative is null:
# the leg's talk, the conversation's talk, handle and wait (its only answer interval ends
# before it starts), the ongoing state's duration. The answer still counts: answered, at
# 10:52:30, 40 s after the call started.


def test_a_leg_that_ends_before_it_was_answered(warehouse: Path) -> None:
    clock_error = warehouse  # the call clock-k of the module's warehouse
    [agent] = rows(
        clock_error,
        "select leg_role, epoch_ms(started_at) as started_ms, "
        "epoch_ms(connected_at) as connected_ms, epoch_ms(ended_at) as ended_ms, talk_ms "
        "from marts.fct_call_legs where leg_id = 'clock-k-ag'",
    )
    assert agent == {
        "leg_role": "operator",
        "started_ms": T1052,
        "connected_ms": T1052 + 30_000,  # answeredAt, as delivered
        "ended_ms": T1052 + 4_000,  # endedAt, as delivered
        "talk_ms": None,  # 4 s - 30 s < 0: unknown
    }
    row = conversation(clock_error, "clock-k")
    assert (row["outcome"], row["answered_ms"], row["time_to_answer_ms"]) == (
        "answered", T1052 + 30_000, 40_000,
    )  # fmt: skip
    assert (row["started_ms"], row["ended_ms"], row["agent_count"]) == (
        T1052 - 10_000, T1052 + 6_000, 1,
    )  # fmt: skip
    assert (row["talk_ms"], row["handle_ms"], row["wait_ms"]) == (None, None, None)
    states = rows(
        clock_error,
        "select state, epoch_ms(entered_at) as entered_ms, epoch_ms(exited_at) as exited_ms, "
        "duration_ms from marts.fct_leg_states where leg_id = 'clock-k-ag' order by entered_at",
    )
    assert states == [
        # never seen ringing but answered: rang from createdAt to the answer (estimated)
        {"state": "ringing", "entered_ms": T1052, "exited_ms": T1052 + 30_000,
         "duration_ms": 30_000},
        {"state": "ongoing", "entered_ms": T1052 + 30_000, "exited_ms": T1052 + 4_000,
         "duration_ms": None},
    ]  # fmt: skip
