"""Every landing format of docs/contract.md §2 loads, alone and mixed in one file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from conftest import event, sign, write_lines


def test_ndjson_and_jsonl_load_each_line(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "a.ndjson", [event(1), event(2)])
    write_lines(tmp_path / "b.jsonl", [event(3)])
    assert ingest(tmp_path / "a.ndjson", tmp_path / "b.jsonl") == 0
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,), (3,)]


def test_json_array_elements_are_records(tmp_path: Path, ingest, query) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps([event(1), event(2), sign(event(3))], indent=2))
    assert ingest(path) == 0
    assert query("select call_id, source_line from raw.dialpad_call_events order by 1") == [
        (1, 1),
        (2, 2),
        (3, 3),
    ]


def test_jwt_lines_verify_with_the_secret(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "hook.jwt", [sign(event(7, "ringing")), sign(event(8))])
    assert ingest(tmp_path / "hook.jwt") == 0
    assert query("select call_id, state from raw.dialpad_call_events order by 1") == [
        (7, "ringing"),
        (8, "hangup"),
    ]


def test_envelopes_with_object_or_jwt_payload(tmp_path: Path, ingest, query) -> None:
    no_time = event(1, "ringing", event_timestamp=None)
    write_lines(
        tmp_path / "capture.ndjson",
        [
            {"received_at": 1_700_000_005_123, "payload": no_time, "headers": {"x": "y"}},
            {"received_at": "2023-11-14T22:13:30.250Z", "payload": sign(event(2, "ringing"))},
        ],
    )
    assert ingest(tmp_path / "capture.ndjson") == 0
    rows = query(
        "select call_id, received_at, event_at, event_at_source "
        "from raw.dialpad_call_events order by 1"
    )
    assert [r[0] for r in rows] == [1, 2]
    assert str(rows[0][1]) == "2023-11-14 22:13:25.123000"  # 1_700_000_005_123 ms
    assert str(rows[0][2]) == "2023-11-14 22:13:25.123000"
    assert rows[0][3] == "received"
    assert str(rows[1][1]) == "2023-11-14 22:13:30.250000"
    assert rows[1][3] == "event"  # its own event_timestamp wins over received_at
    assert str(rows[1][2]) == "2023-11-14 22:13:21"


def test_gzip_of_every_format(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "a.ndjson.gz", [event(1)])
    write_lines(tmp_path / "b.jwt.gz", [sign(event(2))])
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(json.dumps([event(3)]).encode()))
    assert ingest(tmp_path) == 0
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,), (3,)]


def test_mixed_formats_in_one_file(tmp_path: Path, ingest, query) -> None:
    write_lines(
        tmp_path / "mixed.ndjson",
        [
            event(1),
            sign(event(2)),
            {"received_at": 1_700_000_000_000, "payload": event(3)},
            json.dumps([event(4), event(5)]),
        ],
    )
    assert ingest(tmp_path / "mixed.ndjson") == 0
    assert query("select count(*), min(call_id), max(call_id) from raw.dialpad_call_events") == [
        (5, 1, 5)
    ]


def test_folders_recurse_and_globs_expand(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "in" / "2026" / "03" / "a.ndjson", [event(1)])
    write_lines(tmp_path / "in" / "b.jwt", [sign(event(2))])
    (tmp_path / "in" / "notes.txt").write_text("not a landing file")
    # names starting with `_` or `.` are not data (a sample's results, callmart's state, Spark's
    # _SUCCESS): a folder walk skips them
    write_lines(tmp_path / "in" / "_expected" / "legs.ndjson", [event(7)])
    write_lines(tmp_path / "in" / ".callmart" / "target" / "run_results.json", ["{}"])
    write_lines(tmp_path / "in" / "_partial.ndjson", [event(8)])
    write_lines(tmp_path / "other" / "c.ndjson", [event(3)])
    assert ingest(tmp_path / "in", str(tmp_path / "oth*" / "*.ndjson")) == 0
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,), (3,)]
    assert query("select count(*) from raw.load_log") == [(3,)]


def test_the_payload_is_kept_whole(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "a.ndjson", [event(1, future_field={"nested": [1, 2]})])
    assert ingest(tmp_path / "a.ndjson") == 0
    assert query("select payload ->> '$.future_field.nested[1]' from raw.dialpad_call_events") == [
        ("2",)
    ]


def test_a_field_absent_from_the_batch_is_still_a_column(tmp_path: Path, ingest, query) -> None:
    write_lines(
        tmp_path / "a.ndjson", [{"call_id": 1, "state": "ringing", "date_rang": 1_700_000_000_005}]
    )
    assert ingest(tmp_path / "a.ndjson") == 0
    assert query(
        "select recap_summary, recording_details, routing_breadcrumbs, target_id "
        "from raw.dialpad_call_events"
    ) == [(None, None, None, None)]


def test_an_envelope_may_carry_keys_of_its_own(tmp_path: Path, ingest, query) -> None:
    envelope = {"id": "capture-17", "received_at": 1_700_000_000_000, "payload": event(9)}
    assert ingest(write_lines(tmp_path / "capture.ndjson", [envelope])) == 0
    assert query("select call_id, epoch_ms(received_at) from raw.dialpad_call_events") == [
        (9, 1_700_000_000_000)
    ]
