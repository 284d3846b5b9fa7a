"""MessageBird through `callmart run`: hand-written calls and legs, values worked out by hand.

One warehouse, built once from two landing files that mix Dialpad and MessageBird records in
every MessageBird shape (single objects, a list response, envelopes); one leg's older
snapshot arrives in the second file, after the newer one. The rules themselves are pinned by
the dbt unit tests beside the models; this checks that they meet in the marts.
"""

from __future__ import annotations

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
    assert {r["provider"]: r["n"] for r in found} == {"dialpad": 1, "messagebird": 3}
    loaded = rows(warehouse, "select count(*) as n from raw.messagebird_legs")
    assert loaded == [{"n": 7}]  # a-in, a-ag (2 snapshots), b-*, c-out; the redelivery is one


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
