"""The column-wise path of plain JSON lines (`ingest.plain`) against the per-record path.

Both stage the same chunks; every staged row (each raw table's and the quarantine's), the
records read and the unknown keys must be equal: same event hashes, same typed rows, same
quarantine rows, in the same order. On every file the simulator writes (every scenario and bad
record it knows) and on the edge cases real feeds have (docs/contract.md §3, "Identity").
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import SECRET, event, sign

from ingest.canonical import canonical_json, loads, sha256_hex
from ingest.decode import Decoder, TimeWindow
from ingest.flatten import extract_fields
from ingest.plain import is_plain_dialpad_event, plain_lines
from ingest.raw_tables import DIALPAD_CALL_EVENTS
from ingest.read import read_chunks
from ingest.sample import SAMPLE_SECRET, write_sample
from ingest.stage import ChunkJob, Staged, Stager

# a fixed window, so that both paths judge times alike (2000-01-01 .. 2026-12-04)
WINDOW = TimeWindow(946_684_800_000, 1_796_342_400_000)


def _stage(path: Path, folder: Path, plain_path: bool, secret: str) -> list[Staged]:
    stager = Stager(Decoder(secret.encode(), b"messagebird-key", WINDOW), plain_path)
    try:
        return [
            stager.stage(ChunkJob(chunk, 0, str(path), folder, f"{number:06d}"))
            for number, chunk in enumerate(read_chunks(path))
        ]
    finally:
        stager.close()


def assert_same_staging(path: Path, tmp_path: Path, secret: str = SECRET) -> None:
    """Both paths stage `path` to the same rows."""
    per_record, plain = tmp_path / "per_record", tmp_path / "plain"
    expected = _stage(path, per_record, False, secret)
    found = _stage(path, plain, True, secret)
    assert [(s.read, dict(s.unknown_keys)) for s in found] == [
        (s.read, dict(s.unknown_keys)) for s in expected
    ]
    expected_files = sorted(p.relative_to(per_record) for p in per_record.rglob("*.parquet"))
    found_files = sorted(p.relative_to(plain) for p in plain.rglob("*.parquet"))
    assert found_files == expected_files
    for name in expected_files:
        before, after = pl.read_parquet(per_record / name), pl.read_parquet(plain / name)
        assert after.schema == before.schema, name
        assert after.to_dicts() == before.to_dicts(), name


def test_both_paths_stage_every_simulated_file_alike(tmp_path: Path) -> None:
    sample = tmp_path / "sample"
    write_sample(sample, events=3000, seed=11)
    files = sorted(p for p in (sample / "landing").rglob("*") if p.is_file())
    assert {p.name.split(".", 1)[1] for p in files} >= {"ndjson", "jwt", "json", "jsonl.gz"}
    for number, path in enumerate(files):
        assert_same_staging(path, tmp_path / f"file-{number}", SAMPLE_SECRET)


def test_plain_event_lines_take_the_column_wise_path(tmp_path: Path) -> None:
    """The differential tests would prove nothing if the fast path never ran."""
    lines = [event(call_id=2**60 + n, state="ringing", price=1.50) for n in range(50)]
    path = tmp_path / "plain.ndjson"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [chunk] = list(read_chunks(path))[:1]
    plain = plain_lines(chunk)
    assert plain is not None and plain.others == []
    assert plain.candidates["event_hash"].to_list() == [
        sha256_hex(canonical_json(loads(json.dumps(line)))) for line in lines
    ]
    with duckdb.connect() as con:
        text = extract_fields(con, plain.candidates, DIALPAD_CALL_EVENTS)
    assert text.select(is_plain_dialpad_event()).to_series().all()


EDGE_CASES = [
    # number text: 1.50 and 1.5 are other payloads, 1e3 stays 1e3, -0 and 0.0 as written
    '{"call_id": 1, "state": "hangup", "date_ended": 1700000000000, "mos_score": 1.50}',
    '{"call_id": 1, "state": "hangup", "date_ended": 1700000000000, "mos_score": 1.5}',
    '{"call_id": 2, "state": "hangup", "date_ended": 1.7e12, "duration": 1e3, "hold_time": -0}',
    '{"call_id": 3, "state": "hangup", "date_ended": 1700000000000.0, "talk_time": -0.0}',
    # key order and duplicate keys (the last one wins, as in every JSON parser here)
    '{"state": "calling", "call_id": 4, "date_started": 1700000000000}',
    '{"call_id": 4, "date_started": 1700000000000, "state": "calling"}',
    '{"call_id": 5, "call_id": 6, "state": "calling", "state": "ringing", "date_rang": 1.7e12}',
    # ids above 2^53 and above 2^63, as numbers and as text
    '{"call_id": 9007199254740993, "state": "ringing", "date_rang": 1700000000000}',
    '{"call_id": "9007199254740995", "state": "ringing", "date_rang": 1700000000000}',
    '{"call_id": 18446744073709551617, "state": "ringing", "date_rang": 1700000000000}',
    '{"call_id": 7, "state": "ringing", "date_rang": 1700000000000, "target": {"id": 1e400}}',
    # unicode: raw, escaped, non-BMP raw and as a surrogate pair, a lone surrogate escape
    '{"call_id": 8, "state": "hangup", "date_ended": 1700000000000, "recap_summary": "café"}',
    '{"call_id": 8, "state": "hangup", "date_ended": 1700000000000, "recap_summary": "caf\\u00e9"}',
    '{"call_id": 9, "state": "hangup", "date_ended": 1700000000000, "recap_summary": "😀 \\ud83d\\ude00"}',
    '{"call_id": 10, "state": "hangup", "date_ended": 1700000000000, "recap_summary": "\\ud800"}',
    '{"call_id": 11, "state": "hangup", "date_ended": 1700000000000, "labels": ["\\udfff", "a"]}',
    '{"call_id": 12, "state": "hangup", "date_ended": 1700000000000, "x": "\\u0000\\t\\"\\\\/"}',
    # deep nesting: loaded when it parses, quarantined when too deep for the parsers
    '{"call_id": 13, "state": "hangup", "date_ended": 1700000000000, "custom_data": '
    + "[" * 200
    + "]" * 200
    + "}",
    '{"call_id": 14, "state": "hangup", "date_ended": 1700000000000, "custom_data": '
    + "[" * 100_000
    + "]" * 100_000
    + "}",
    # blank and whitespace lines, surrounding spaces and tabs, CRLF
    "",
    "   ",
    "\t",
    '  \t{"call_id": 15, "state": "queued", "date_queued": 1700000000000}\t  ',
    '{"call_id": 16, "state": "queued", "date_queued": 1700000000000}\r',
    "\x0b",
    '\xa0{"call_id": 17, "state": "queued", "date_queued": 1700000000000}',
    '{"call_id": 18, "state": "queued", "date_queued": 1700000000000}\x1c',
    # classification: empty, odd or spaced call_id and state
    '{"call_id": 0, "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": -0, "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": 0.0, "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": "0", "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": " 19 ", "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": "", "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": {}, "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": [20], "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": 1.5, "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": "abc", "state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": 21, "state": 5, "date_ended": 1700000000000}',
    '{"call_id": 21, "state": true, "date_ended": 1700000000000}',
    '{"call_id": 21, "state": null, "date_ended": 1700000000000}',
    '{"call_id": 21, "state": "true", "date_ended": 1700000000000}',
    '{"call_id": 21, "state": " hangup ", "date_ended": 1700000000000}',
    '{"call_id": 21, "state": "", "date_ended": 1700000000000}',
    '{"call_id": 21, "state": "0", "date_ended": 1700000000000}',
    '{"call_id": 21, "state": {"a": 1}, "date_ended": 1700000000000}',
    '{"call_id": 21, "state": "Hangup", "date_ended": 1700000000000}',
    '{"call_id": 22, "date_ended": 1700000000000}',
    '{"state": "hangup", "date_ended": 1700000000000}',
    '{"call_id": 23, "state": "hangup", "callId": "mb-1", "id": "leg-1"}',
    '{"call_id": 24, "state": "hangup", "target": {"callId": 1}, "date_ended": 1700000000000}',
    '{"call_id": 25, "state": "hangup", "note": "\\"callId\\": 1", "date_ended": 1.7e12}',
    # fields that do not type, times outside the window, no time at all, unknown keys
    '{"call_id": 26, "state": "hangup", "date_ended": "soon"}',
    '{"call_id": 27, "state": "hangup", "date_ended": 99999999999999999, "is_transfer": "x"}',
    '{"call_id": 28, "state": "hangup"}',
    '{"call_id": 29, "state": "ringing", "date_rang": 1700000000000, "brand_new": 1, "z": []}',
    # other records: envelopes, arrays, list responses, MessageBird, JWT, not JSON
    '{"received_at": 1700000000000, "payload": {"call_id": 30, "state": "ringing"}}',
    '{"received_at": "2023-11-14T22:13:20Z", "payload": "{\\"call_id\\": 31, \\"state\\": \\"x\\"}"}',
    '[{"call_id": 32, "state": "ringing", "date_rang": 1700000000000}, {"call_id": 32}]',
    '{"data": [{"call_id": 33, "state": "ringing", "date_rang": 1700000000000}]}',
    '{"id": "leg-2", "callId": "call-2", "status": "ongoing", "createdAt": "2023-11-14T22:13:20Z"}',
    '{"id": "call-3", "status": "ended", "createdAt": "2023-11-14T22:13:20Z"}',
    sign(event(call_id=34, state="connected", date_connected=1_700_000_000_000)),
    '{"call_id": 35, "state": "hangup"',
    "{} {}",
    '{"call_id": 36,',
    '"state": "ringing"}',
    "{}",
    '{"a": 1}',
    "not json",
    "42",
    '"text"',
]


def test_both_paths_stage_edge_cases_alike(tmp_path: Path) -> None:
    path = tmp_path / "edge.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + "\n".join(EDGE_CASES).encode("utf-8") + b"\n")
    assert_same_staging(path, tmp_path)


def test_both_paths_stage_a_chunk_with_a_line_that_is_not_utf8_alike(tmp_path: Path) -> None:
    path = tmp_path / "bytes.ndjson"
    lines = [line.encode() for line in EDGE_CASES[:6]] + [b'{"call_id": 1, "state": "\xff"}']
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    assert_same_staging(path, tmp_path)


@pytest.mark.parametrize("copies", [1, 3])
def test_both_paths_stage_copies_alike(tmp_path: Path, copies: int) -> None:
    """Copies of an event on several lines keep their order (the commit keeps the first)."""
    line = json.dumps(event(call_id=40, state="ringing", date_rang=1_700_000_000_000))
    path = tmp_path / "copies.ndjson"
    path.write_text("\n".join([line] * copies + [f"[{line}, {line}]", line]) + "\n")
    assert_same_staging(path, tmp_path)
