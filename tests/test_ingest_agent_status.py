"""Dialpad agent status events (docs/contract.md §11) into raw.dialpad_agent_status_events.

Told apart from call events by their fields (`target` and `on_duty_status` or
`availability_status`, no `call_id`), in every landing format call events come in; typed,
payload kept, one row per identity (SHA-256 of the canonical payload), the earliest received
copy kept; malformed ones quarantined. Every expected value is worked out by hand.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from conftest import SECRET, event, sign, write_lines

from ingest.cli import main

# 1_772_445_600_000 ms is 2026-03-02T10:00:00Z (2026-03-01 is 1_772_323_200 s, plus 34 hours)
DATE_MS = 1_772_445_600_000
TEN_AM = datetime(2026, 3, 2, 10, 0, 0)
COLUMNS = (
    "target_id, target_type, target_name, target_email, target_phone_number, on_duty_status, "
    "on_duty_status_reason, availability_status, call_center_ids, status_date, event_timestamp, "
    "powerdialer_mode, received_at, event_at, event_at_source"
)


def status(**fields: Any) -> dict[str, Any]:
    """An agent status payload as Dialpad sends it; `fields` replace or (None) drop keys."""
    payload: dict[str, Any] = {
        "target": {
            "id": 5012,
            "name": "Ana",
            "email": "ana@x.com",
            "phone_number": "+15550100",
            "type": "user",
        },
        "availability_status": "available",
        "on_duty_status": "wrapup",
        "on_duty_status_reason": None,
        "call_center_ids": ["71", "70"],
        "date": DATE_MS,
        "event_timestamp": DATE_MS + 123,
        "powerdialer_mode": False,
    }
    payload.update(fields)
    return {key: value for key, value in payload.items() if value is not _DROP}


_DROP = object()


def _hash(payload: dict[str, Any]) -> str:
    """docs/contract.md §3: SHA-256 of the JSON with keys sorted and no whitespace."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _rows(query, columns: str = COLUMNS) -> list[tuple[Any, ...]]:  # type: ignore[no-untyped-def]
    return query(f"select {columns} from raw.dialpad_agent_status_events order by all")


def test_a_status_line_is_one_typed_row_with_its_payload_and_identity(
    tmp_path: Path, ingest, query
) -> None:
    payload = status()
    path = write_lines(tmp_path / "status.ndjson", [payload])
    assert ingest(path) == 0
    assert _rows(query) == [
        (
            5012, "user", "Ana", "ana@x.com", "+15550100", "wrapup", None, "available",
            ["71", "70"], DATE_MS, DATE_MS + 123, False, None,
            datetime(2026, 3, 2, 10, 0, 0, 123_000), "event",
        )
    ]  # fmt: skip
    [(event_hash, stored, source_file, source_line)] = _rows(
        query, "event_hash, payload, source_file, source_line"
    )
    assert event_hash == _hash(payload)
    assert json.loads(stored) == payload  # the null reason and the list's order kept
    assert (source_file, source_line) == (str(path), 1)
    assert query("select count(*) from raw.dialpad_call_events") == [(0,)]
    assert query("select count(*) from raw.quarantine") == [(0,)]
    assert query("select read_count, loaded_count from raw.load_log") == [(1, 1)]


def test_every_landing_format_carries_status_events(tmp_path: Path, ingest, query) -> None:
    def agent(agent_id: int) -> dict[str, Any]:
        return status(target={"id": agent_id, "name": f"agent {agent_id}"})

    write_lines(tmp_path / "a.ndjson", [agent(1), event(900)])
    (tmp_path / "b.json").write_text(json.dumps([agent(2), sign(agent(3)), event(901)]))
    write_lines(tmp_path / "c.jwt", [sign(agent(4))])
    write_lines(tmp_path / "d.ndjson.gz", [agent(5)])
    write_lines(
        tmp_path / "e.jsonl",
        [
            {"data": [agent(6), agent(7)]},  # a list response
            {"received_at": DATE_MS + 5_000, "payload": agent(8)},
            {"received_at": "2026-03-02T10:00:09Z", "payload": sign(agent(9))},
        ],
    )
    assert gzip.decompress((tmp_path / "d.ndjson.gz").read_bytes())  # truly compressed
    assert ingest(*sorted(tmp_path.iterdir())) == 0
    assert _rows(query, "target_id, target_name, received_at, source_line") == [
        (1, "agent 1", None, 1),
        (2, "agent 2", None, 1),
        (3, "agent 3", None, 2),
        (4, "agent 4", None, 1),
        (5, "agent 5", None, 1),
        (6, "agent 6", None, 1),
        (7, "agent 7", None, 1),
        (8, "agent 8", datetime(2026, 3, 2, 10, 0, 5), 2),
        (9, "agent 9", datetime(2026, 3, 2, 10, 0, 9), 3),
    ]
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(900,), (901,)]
    assert query("select count(*) from raw.quarantine") == [(0,)]


def test_values_are_typed_as_the_contract_says(tmp_path: Path, ingest, query) -> None:
    lines = [
        # an id above 2^53 as text, a string boolean, a lone call center id, "busy" kept as is
        status(
            target={"id": "9007199254740993", "type": "user"},
            on_duty_status="busy",
            powerdialer_mode="TRUE",
            call_center_ids="71",
            availability_status=_DROP,
        ),
        # availability alone is enough; empty values are null
        status(
            target={"id": 7, "name": "", "email": "0"},
            on_duty_status=_DROP,
            availability_status="unavailable",
            on_duty_status_reason="",
            call_center_ids=[],
            powerdialer_mode=_DROP,
        ),
        status(target={"id": 8}, on_duty_status="unavailable", on_duty_status_reason="Lunch"),
    ]
    path = write_lines(tmp_path / "typed.ndjson", lines)
    assert ingest(path) == 0
    assert _rows(
        query,
        "target_id, target_name, target_email, on_duty_status, on_duty_status_reason, "
        "availability_status, call_center_ids, powerdialer_mode",
    ) == [
        (7, None, None, None, None, "unavailable", None, None),
        (8, None, None, "unavailable", "Lunch", "available", ["71", "70"], False),
        (9007199254740993, None, None, "busy", None, None, ["71"], True),
    ]


def test_a_status_event_delivered_twice_is_one_row(tmp_path: Path, ingest, query) -> None:
    payload = status()
    reordered = dict(reversed(list(payload.items())))  # the same payload, keys in another order
    write_lines(tmp_path / "a.ndjson", [payload, reordered])
    write_lines(tmp_path / "b.jwt", [sign(payload)])
    assert ingest(tmp_path / "a.ndjson", tmp_path / "b.jwt") == 0
    assert ingest(tmp_path / "a.ndjson") == 0  # unchanged: skipped
    assert _rows(query, "event_hash, source_file, source_line") == [
        (_hash(payload), str(tmp_path / "a.ndjson"), 1)
    ]
    assert query("select sum(read_count), sum(loaded_count) from raw.load_log") == [(3, 1)]


def test_the_earliest_received_copy_wins_across_loads(tmp_path: Path, ingest, query) -> None:
    payload = status(event_timestamp=_DROP)  # its event time is when it was received
    late = write_lines(
        tmp_path / "late.ndjson", [{"received_at": DATE_MS + 9_000, "payload": payload}]
    )
    # the same event signed, received 7 s earlier
    early = write_lines(
        tmp_path / "early.ndjson", [{"received_at": DATE_MS + 2_000, "payload": sign(payload)}]
    )
    assert ingest(late) == 0
    assert ingest(early) == 0
    assert _rows(query, "received_at, event_at, event_at_source, source_file") == [
        (datetime(2026, 3, 2, 10, 0, 2), datetime(2026, 3, 2, 10, 0, 2), "received", str(early))
    ]
    later = write_lines(
        tmp_path / "later.ndjson", [{"received_at": DATE_MS + 30_000, "payload": payload}]
    )
    assert ingest(later) == 0  # a later copy changes nothing
    assert _rows(query, "received_at, source_file") == [
        (datetime(2026, 3, 2, 10, 0, 2), str(early))
    ]


def test_a_record_with_call_id_is_a_call_event(tmp_path: Path, ingest, query) -> None:
    both = event(77, "hangup", target={"id": 5012}, on_duty_status="wrapup")
    without_state = status(call_id=78)  # a call event missing its state, not a status event
    # no call_id: a status event, whatever else it carries (§11)
    with_state = status(target={"id": 79}, state="hangup")
    path = write_lines(tmp_path / "mixed.ndjson", [both, without_state, with_state])
    assert ingest(path) == 0
    assert query("select call_id, target_id from raw.dialpad_call_events") == [(77, 5012)]
    assert _rows(query, "target_id, source_line") == [(79, 3)]
    assert query("select source_line, reason from raw.quarantine") == [(2, "missing_state")]


def test_a_status_event_without_an_agent_id_is_quarantined(tmp_path: Path, ingest, query) -> None:
    lines = [
        status(target={"name": "Ana"}),
        status(target={"id": ""}),
        status(target={"id": 0}),
        status(target=None),
        status(target="5012"),
        status(target={"id": "abc"}),  # an id, but not a number
        status(target={"id": 9}),
    ]
    path = write_lines(tmp_path / "bad.ndjson", lines)
    assert ingest(path) == 0
    assert query("select source_line, reason, detail, provider from raw.quarantine order by 1") == [
        (1, "missing_agent_id", "target.id is absent or empty", "dialpad"),
        (2, "missing_agent_id", "target.id is absent or empty", "dialpad"),
        (3, "missing_agent_id", "target.id is absent or empty", "dialpad"),
        (4, "missing_agent_id", "target is not an object", "dialpad"),
        (5, "missing_agent_id", "target is not an object", "dialpad"),
        (6, "unparseable_field", "target_id", "dialpad"),
    ]
    assert _rows(query, "target_id, source_line") == [(9, 7)]


def test_a_target_without_a_status_is_not_a_status_event(tmp_path: Path, ingest, query) -> None:
    path = write_lines(tmp_path / "x.ndjson", [{"target": {"id": 5012}, "date": DATE_MS}])
    assert ingest(path) == 0
    assert query("select reason from raw.quarantine") == [("not_an_event",)]


def test_event_time_is_event_timestamp_then_received_at_then_date(
    tmp_path: Path, ingest, query
) -> None:
    lines = [
        status(target={"id": 1}),  # event_timestamp: 10:00:00.123
        {"received_at": DATE_MS + 5_000, "payload": status(target={"id": 2}, event_timestamp=None)},
        status(target={"id": 3}, event_timestamp=_DROP),  # date: 10:00:00
        # an implausible event_timestamp is nulled: then the date
        status(target={"id": 4}, event_timestamp=99_999_999_999_999_999),
        status(target={"id": 5}, event_timestamp=_DROP, date=_DROP),  # no time at all
        status(target={"id": 6}, event_timestamp=_DROP, date=1_000),  # 1970: implausible
    ]
    path = write_lines(tmp_path / "times.ndjson", lines)
    assert ingest(path) == 0
    assert _rows(
        query, "target_id, event_at, event_at_source, event_timestamp, implausible_time_fields"
    ) == [
        (1, datetime(2026, 3, 2, 10, 0, 0, 123_000), "event", DATE_MS + 123, None),
        (2, datetime(2026, 3, 2, 10, 0, 5), "received", None, None),
        (3, TEN_AM, "fallback", None, None),
        (4, TEN_AM, "fallback", None, ["event_timestamp"]),
    ]
    assert query("select source_line, reason, detail from raw.quarantine order by 1") == [
        (5, "no_event_time", "no event_timestamp, received_at or date field"),
        (
            6,
            "implausible_time",
            "no plausible event time: status_date outside 2000-01-01 .. a day after the load",
        ),
    ]


def test_a_quarantined_status_event_loads_on_retry(
    tmp_path: Path, db: Path, query, monkeypatch, capsys
) -> None:
    monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
    hooks = write_lines(tmp_path / "hooks.jwt", [sign(status())])
    assert main(["ingest", "--quiet", "--db", str(db), str(hooks)]) == 0
    assert query("select reason, provider from raw.quarantine") == [("no_secret", "dialpad")]
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    assert main(["quarantine", "retry", "--db", str(db)]) == 0
    assert "retried 1 = loaded 1 + duplicates 0 + still quarantined 0" in capsys.readouterr().out
    assert _rows(query, "target_id, source_file, source_line") == [(5012, str(hooks), 1)]
    assert query("select count(*) from raw.quarantine where released_at is null") == [(0,)]


def _lake(lake: Path, table: str, select: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.execute(
            f"select {select} from read_parquet('{lake}/{table}/**/*.parquet', "
            "hive_partitioning = true) order by all"
        ).fetchall()


def test_the_lake_holds_status_events_and_an_empty_table_for_spark(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    statuses = write_lines(tmp_path / "in" / "a.ndjson", [status(), status(), sign(status())])
    calls = write_lines(tmp_path / "calls" / "b.ndjson", [event(1)])
    lake, calls_lake = tmp_path / "lake", tmp_path / "calls_lake"
    assert main(["ingest", "--quiet", "--to-parquet", str(lake), str(statuses)]) == 0
    assert main(["ingest", "--quiet", "--to-parquet", str(calls_lake), str(calls)]) == 0

    folders = {p.parent.relative_to(lake) for p in lake.rglob("*.parquet")}
    assert Path("dialpad_agent_status_events/event_date=2026-03-02") in folders
    assert _lake(
        lake,
        "dialpad_agent_status_events",
        "target_id, on_duty_status, status_date, event_at_source, source_line, event_hash",
    ) == [(5012, "wrapup", DATE_MS, "event", 1, _hash(status()))]  # one copy per load
    # a load without status events still gives readers the table and its columns
    assert _lake(calls_lake, "dialpad_agent_status_events", "count(*)") == [(0,)]
    with duckdb.connect() as con:
        columns = con.execute(
            "describe select * from "
            f"read_parquet('{calls_lake}/dialpad_agent_status_events/**/*.parquet')"
        ).fetchall()
    kinds = {name: kind for name, kind, *_ in columns}
    assert kinds["target_id"] == "BIGINT" and kinds["status_date"] == "BIGINT"
    assert kinds["call_center_ids"] == "VARCHAR[]" and kinds["event_at"] == "TIMESTAMP"
