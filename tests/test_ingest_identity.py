"""Identity and idempotency (docs/contract.md §3): one event per decoded payload, loads repeatable."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import event, sign, write_lines

from ingest import canonical


def test_canonical_json_sorts_keys_and_keeps_number_text() -> None:
    text = '{"b": [1.50, {"z": 1, "a": 2}], "a": 4978137078431744, "c": 123456789012345678901234}'
    assert (
        canonical.canonical_json(canonical.loads(text))
        == '{"a":4978137078431744,"b":[1.50,{"a":2,"z":1}],"c":123456789012345678901234}'
    )


def test_the_identity_hash_is_sha256_of_the_canonical_payload(
    tmp_path: Path, ingest, query
) -> None:
    path = write_lines(
        tmp_path / "a.ndjson", ['{"state": "hangup", "call_id": 7, "date_ended": 1700000000001.0}']
    )
    assert ingest(path) == 0
    expected = hashlib.sha256(
        b'{"call_id":7,"date_ended":1700000000001.0,"state":"hangup"}'
    ).hexdigest()
    assert query("select event_hash from raw.dialpad_call_events") == [(expected,)]


def test_copies_in_any_encoding_are_one_event(tmp_path: Path, ingest, query) -> None:
    payload = event(1, duration=16464.904000000002)
    reordered = json.dumps(dict(reversed(list(payload.items()))), indent=1).replace("\n", " ")
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            payload,
            reordered,
            sign(payload),
            {"received_at": 1_700_000_000_005, "payload": sign(payload)},
        ],
    )
    assert ingest(path) == 0
    assert query("select count(*) from raw.dialpad_call_events") == [(1,)]


def test_numbers_with_other_text_are_other_events(tmp_path: Path, ingest, query) -> None:
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            '{"call_id": 1, "state": "hangup", "date_ended": 1700000000005, "duration": 1.5}',
            '{"call_id": 1, "state": "hangup", "date_ended": 1700000000005, "duration": 1.50}',
        ],
    )
    assert ingest(path) == 0
    assert query("select count(*) from raw.dialpad_call_events") == [(2,)]


def test_redeliveries_across_files_keep_the_earliest_received_at(
    tmp_path: Path, ingest, query
) -> None:
    payload = event(1, "ringing", event_timestamp=None, date_rang=1_700_000_001_000)
    write_lines(
        tmp_path / "a.ndjson", [payload, {"received_at": 1_700_000_009_000, "payload": payload}]
    )
    write_lines(tmp_path / "b.ndjson", [{"received_at": 1_700_000_003_000, "payload": payload}])
    assert ingest(tmp_path / "a.ndjson") == 0
    assert query(
        "select epoch_ms(received_at), epoch_ms(event_at), event_at_source "
        "from raw.dialpad_call_events"
    ) == [(1_700_000_009_000, 1_700_000_009_000, "received")]
    assert ingest(tmp_path / "b.ndjson") == 0
    assert query(
        "select epoch_ms(received_at), epoch_ms(event_at), event_at_source, source_file "
        "from raw.dialpad_call_events"
    ) == [(1_700_000_003_000, 1_700_000_003_000, "received", str(tmp_path / "b.ndjson"))]


def test_reloading_the_same_files_adds_nothing(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "a.ndjson", [event(1), event(2), "{bad"])
    write_lines(tmp_path / "b.jwt.gz", [sign(event(3))])
    assert ingest(tmp_path) == 0
    before = query("select * from raw.dialpad_call_events order by event_hash")
    assert ingest(tmp_path) == 0
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "a.ndjson").write_bytes((tmp_path / "a.ndjson").read_bytes())
    assert ingest(tmp_path / "copy") == 0
    assert query("select * from raw.dialpad_call_events order by event_hash") == before
    assert query("select count(*) from raw.quarantine") == [(2,)]  # once per file and line
    assert query(
        "select read_count, loaded_count, duplicate_count, quarantined_count "
        "from raw.load_log order by started_at"
    ) == [(3, 2, 0, 1), (1, 1, 0, 0), (3, 0, 2, 1)]


def test_a_grown_file_loads_only_its_new_records(tmp_path: Path, ingest, query) -> None:
    path = write_lines(tmp_path / "a.ndjson", [event(1), event(2)])
    assert ingest(path) == 0
    with path.open("a") as handle:
        handle.write(json.dumps(event(3)) + "\n" + json.dumps(event(1)) + "\n")
    assert ingest(path) == 0
    assert query(
        "select start_offset > 0, end_line, read_count, loaded_count, duplicate_count "
        "from raw.load_log order by started_at"
    ) == [(False, 2, 2, 2, 0), (True, 4, 2, 1, 1)]
    assert query("select call_id, source_line from raw.dialpad_call_events order by 1") == [
        (1, 1),
        (2, 2),
        (3, 3),
    ]


def test_a_rewritten_file_is_read_again_whole(tmp_path: Path, ingest, query) -> None:
    path = write_lines(tmp_path / "a.ndjson", [event(1), event(2)])
    assert ingest(path) == 0
    write_lines(path, [event(5), event(1), event(2), event(6)])
    assert ingest(path) == 0
    assert query(
        "select start_offset, read_count, loaded_count from raw.load_log order by started_at"
    ) == [(0, 2, 2), (0, 4, 2)]
