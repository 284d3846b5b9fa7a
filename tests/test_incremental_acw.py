"""After-call work stays right when agent status events arrive late (docs/contract.md §11,
docs/performance.md "Incremental builds").

Four agents take one call each. Batch 1 loads the calls and part of the agents' status
timelines; batch 2 loads the rest, and an incremental build must recompute exactly the legs
whose after-call work the new events (or the moved data watermark) can change, change their
after-call work (and the handle time it is part of) to the values worked out below, and give
the marts one build of both batches gives.

The ingest does not route agent status events to raw.dialpad_agent_status_events yet, so the
test writes their raw rows with SQL (typed as the ingest would, loaded_at the time of the
insert, which orders them after the batch's call events); call events go through the CLI.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import MARTS, event, write_lines

from ingest.cli import main
from ingest.raw_tables import STATE_DATE
from ingest.warehouse import connect

T = 1_772_452_800_000  # 2026-03-02 12:00:00 UTC
HOUR = 3_600_000
DEE, EVE, FAY, GUS = 9101, 9102, 9103, 9104


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {"type": "user", "id": user_id, "name": name, "email": f"{name.lower()}@acw.test"}


def _call(call_id: int, agent: dict[str, Any], ended: int) -> list[dict[str, Any]]:
    """An inbound call straight to `agent`: starts at T, connects at T + 5 s, ends at `ended`."""
    connected, hangup = STATE_DATE["connected"], STATE_DATE["hangup"]
    contact = {"type": "contact", "id": call_id, "name": "Caller", "phone": f"+1555800{call_id}"}
    common = {"date_started": T, "target": agent, "contact": contact}
    return [
        event(call_id, "calling", event_timestamp=T, **common),
        event(call_id, "connected", event_timestamp=T + 5_000, **{connected: T + 5_000}, **common),
        event(
            call_id,
            "hangup",
            event_timestamp=ended,
            **{connected: T + 5_000, hangup: ended},
            **common,
        ),
    ]


def _insert_statuses(db: Path, statuses: list[tuple[int, str, int]], batch: str) -> None:
    """Raw agent status events (agent id, on_duty_status, `date` in unix ms; the event's time is
    its `date`), as the ingest would type them."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with duckdb.connect(str(db)) as con:
        for line, (agent_id, status, at) in enumerate(statuses, start=1):
            payload = {
                "target": {"id": agent_id, "type": "user"},
                "on_duty_status": status,
                "availability_status": "open",
                "call_center_ids": [7001],
                "date": at,
                "event_timestamp": at,
            }
            con.execute(
                """
                insert into raw.dialpad_agent_status_events (
                    event_hash, target_id, target_type, on_duty_status, availability_status,
                    call_center_ids, status_date, event_timestamp, event_at, event_at_source,
                    payload, source_file, source_line, load_id, loaded_at
                )
                values (
                    ?, ?, 'user', ?, 'open', ['7001'], ?, ?, make_timestamp(? * 1000), 'event',
                    ?, ?, ?, ?, ?
                )
                """,
                [
                    f"{batch}-{line}",
                    agent_id,
                    status,
                    at,
                    at,
                    at,
                    json.dumps(payload),
                    f"{batch}.sql",
                    line,
                    batch,
                    now,
                ],
            )


def _build(db: Path, *landing: Path) -> None:
    if landing:
        assert main(["ingest", "--quiet", "--db", str(db), *map(str, landing)]) == 0
    assert main(["build", "--quiet", "--db", str(db)]) == 0


# Dee's call 5001 ends T + 65 s; her feed covers it (available an hour before) and no wrapup
# follows in batch 1: acw 0. Batch 2 brings her wrapup 3 s after the call's end and her return
# to available 45 s later: acw 45000.
# Eve's call 5002 ends T + 30 s and her wrapup starts 2 s later, her last status in batch 1: it
# lasts to the data watermark, the latest event time loaded (Dee's hangup, T + 65 s): acw
# 33000. Batch 2 brings her return to available at T + 52 s: acw 20000.
# Fay's call 5003 ends T + 40 s; her wrapup from T + 41 s stays open in both batches: 24000
# after batch 1, and 72000 after batch 2 moves the watermark to T + 113 s (Dee's available).
# Gus's call 5004 ends T + 20 s, his feed covers it and no wrapup follows: 0 throughout, and
# batch 2 changes nothing of his, so the incremental build leaves his leg alone.
ENDS = {5001: T + 65_000, 5002: T + 30_000, 5003: T + 40_000, 5004: T + 20_000}
BATCH_1 = [
    (DEE, "available", T - HOUR),
    (EVE, "available", T - HOUR),
    (EVE, "wrapup", T + 32_000),
    (FAY, "available", T - HOUR),
    (FAY, "wrapup", T + 41_000),
    (GUS, "available", T - HOUR),
]
BATCH_2 = [
    (DEE, "wrapup", T + 68_000),
    (DEE, "available", T + 113_000),
    (EVE, "available", T + 52_000),
]
TALK = {5001: 60_000, 5002: 25_000, 5003: 35_000, 5004: 15_000}  # ended - connected, no hold
ACW_AFTER_1 = {5001: 0, 5002: 33_000, 5003: 24_000, 5004: 0}
ACW_AFTER_2 = {5001: 45_000, 5002: 20_000, 5003: 72_000, 5004: 0}


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("acw")
    agents = {
        5001: _user(DEE, "Dee"),
        5002: _user(EVE, "Eve"),
        5003: _user(FAY, "Fay"),
        5004: _user(GUS, "Gus"),
    }
    calls = write_lines(
        folder / "calls.ndjson",
        [e for call_id, agent in agents.items() for e in _call(call_id, agent, ENDS[call_id])],
    )
    batched, after_first, whole = (folder / f"{n}.duckdb" for n in ("batched", "first", "whole"))

    connect(batched).close()  # the raw layer
    _insert_statuses(batched, BATCH_1, "batch1")
    _build(batched, calls)
    shutil.copyfile(batched, after_first)
    _insert_statuses(batched, BATCH_2, "batch2")
    _build(batched)

    connect(whole).close()
    _insert_statuses(whole, BATCH_1 + BATCH_2, "all")
    _build(whole, calls)
    return {"after_first": after_first, "batched": batched, "whole": whole}


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _legs(db: Path) -> list[tuple[Any, ...]]:
    return _rows(
        db,
        "select leg_id, talk_ms, hold_ms, acw_ms from marts.fct_call_legs order by leg_id",
    )


def _conversations(db: Path) -> list[tuple[Any, ...]]:
    return _rows(
        db,
        "select conversation_id, talk_ms, acw_ms, handle_ms from marts.fct_conversations "
        "order by conversation_id",
    )


def _expected_legs(acw: dict[int, int]) -> list[tuple[Any, ...]]:
    return [(str(leg), TALK[leg], 0, acw[leg]) for leg in sorted(acw)]


def _expected_conversations(acw: dict[int, int]) -> list[tuple[Any, ...]]:
    return [(str(leg), TALK[leg], acw[leg], TALK[leg] + acw[leg]) for leg in sorted(acw)]


def test_after_call_work_before_the_late_status_events(warehouses: dict[str, Path]) -> None:
    assert _legs(warehouses["after_first"]) == _expected_legs(ACW_AFTER_1)
    assert _conversations(warehouses["after_first"]) == _expected_conversations(ACW_AFTER_1)


def test_late_status_events_change_the_after_call_work_they_affect(
    warehouses: dict[str, Path],
) -> None:
    assert _legs(warehouses["batched"]) == _expected_legs(ACW_AFTER_2)
    assert _conversations(warehouses["batched"]) == _expected_conversations(ACW_AFTER_2)
    # the agents' days: acw summed, and in handle time and AHT (one handled leg each)
    assert _rows(
        warehouses["batched"],
        "select agent_id, acw_ms, handle_ms, aht_ms from marts.agg_agent_daily order by agent_id",
    ) == [
        (str(agent), ACW_AFTER_2[leg], TALK[leg] + ACW_AFTER_2[leg], TALK[leg] + ACW_AFTER_2[leg])
        for agent, leg in ((DEE, 5001), (EVE, 5002), (FAY, 5003), (GUS, 5004))
    ]


def test_the_second_build_recomputes_only_the_legs_the_new_events_affect(
    warehouses: dict[str, Path],
) -> None:
    # the first build succeeded, so the second one starts from it
    assert _rows(
        warehouses["after_first"],
        "select count(*) from intermediate.build_log where status = 'success'",
    ) == [(1,)]
    # Dee's and Eve's legs (their new status events), Fay's (her open wrapup, whose end moved
    # with the watermark); not Gus's
    assert _rows(
        warehouses["batched"],
        "select leg_id from intermediate.int_dialpad__legs_to_rebuild order by leg_id",
    ) == [(5001,), (5002,), (5003,)]


def test_the_incremental_build_equals_one_build_of_both_batches(
    warehouses: dict[str, Path],
) -> None:
    for mart in MARTS:
        query = f"select * from marts.{mart} order by all"
        assert _rows(warehouses["batched"], query) == _rows(warehouses["whole"], query), mart
