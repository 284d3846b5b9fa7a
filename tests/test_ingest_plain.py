"""The column-wise path of plain JSON and JWT lines (`ingest.plain`) against the per-record path.

Both stage the same chunks; every staged row (each raw table's and the quarantine's), the
records read and the unknown keys must be equal: same event hashes, same typed rows, same
quarantine rows, in the same order. On every file the simulator writes (every scenario and bad
record it knows), on the edge cases real feeds have (docs/contract.md §3, "Identity") and on
JWT lines of every verdict (docs/contract.md §2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import SECRET, event, sign

from ingest.canonical import canonical_json, loads, sha256_hex
from ingest.decode import Decoder, TimeWindow
from ingest.flatten import extract_fields
from ingest.plain import is_plain_agent_status_event, is_plain_dialpad_event, plain_lines
from ingest.raw_tables import DIALPAD_AGENT_STATUS_EVENTS, DIALPAD_CALL_EVENTS
from ingest.read import read_chunks
from ingest.sample import SAMPLE_SECRET, write_sample
from ingest.stage import ChunkJob, Staged, Stager

# a fixed window, so that both paths judge times alike (2000-01-01 .. 2026-12-04)
WINDOW = TimeWindow(946_684_800_000, 1_796_342_400_000)


def _stage(path: Path, folder: Path, plain_path: bool, secret: str | None) -> list[Staged]:
    key = None if secret is None else secret.encode()
    stager = Stager(Decoder(key, b"messagebird-key", WINDOW), plain_path)
    try:
        return [
            stager.stage(ChunkJob(chunk, 0, str(path), folder, f"{number:06d}"))
            for number, chunk in enumerate(read_chunks(path))
        ]
    finally:
        stager.close()


def assert_same_staging(path: Path, tmp_path: Path, secret: str | None = SECRET) -> None:
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
    plain = plain_lines(chunk, Decoder(SECRET.encode(), None, WINDOW))
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


# Dialpad agent status events (docs/contract.md §11): plain ones, and every way one is not
_AGENT = '"target": {"id": 5012, "name": "Ana", "type": "user"}'
AGENT_STATUS_CASES = [
    "{" + _AGENT + ', "on_duty_status": "wrapup", "availability_status": "available", '
    '"call_center_ids": ["71", "70"], "date": 1700000000000, "event_timestamp": 1700000000123}',
    "{" + _AGENT + ', "availability_status": "unavailable", "date": 1700000000000}',
    "{" + _AGENT + ', "on_duty_status": "busy", "powerdialer_mode": "TRUE", "date": 1.7e12}',
    '{"target": {"id": "9007199254740993"}, "on_duty_status": "occupied", "date": 1.7e12}',
    '{"on_duty_status": "wrapup", "target": {"id": 5012}, "date": 1700000000000, "new": 1}',
    # the same event twice (one identity), in another key order
    "{" + _AGENT + ', "on_duty_status": "available", "date": 1700000000500}',
    '{"date": 1700000000500, "on_duty_status": "available", ' + _AGENT + "}",
    # no status value (the key is there), an empty, odd or spaced target id, a bad target
    "{" + _AGENT + ', "on_duty_status": null, "date": 1700000000000}',
    '{"target": {"id": 0}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": {"id": ""}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": {"id": " 5012 "}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": {"id": 1.5}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": {"id": "abc"}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": {"name": "Ana"}, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": null, "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": "5012", "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"target": [5012], "on_duty_status": "wrapup", "date": 1700000000000}',
    # fields that do not type, no time, a time outside the window
    "{" + _AGENT + ', "on_duty_status": "wrapup", "date": "soon"}',
    "{" + _AGENT + ', "on_duty_status": "wrapup", "powerdialer_mode": "maybe", "date": 1.7e12}',
    "{" + _AGENT + ', "on_duty_status": "wrapup"}',
    "{" + _AGENT + ', "on_duty_status": "wrapup", "date": 99999999999999999}',
    # with call_id (a call event, or a call event missing its state), with callId, state
    '{"call_id": 90, "state": "hangup", ' + _AGENT + ', "on_duty_status": "wrapup", '
    '"date_ended": 1700000000000}',
    '{"call_id": 91, ' + _AGENT + ', "on_duty_status": "wrapup", "date": 1700000000000}',
    '{"callId": "c-1", "id": "l-1", ' + _AGENT + ', "on_duty_status": "wrapup"}',
    '{"state": "hangup", ' + _AGENT + ', "on_duty_status": "wrapup", "date": 1700000000000}',
    "{" + _AGENT + ', "on_duty_status": "wrapup", "note": "\\"call_id\\": 1", "date": 1.7e12}',
    # a target without a status, in an envelope, a list response, an array
    "{" + _AGENT + ', "date": 1700000000000}',
    '{"received_at": 1700000000000, "payload": {' + _AGENT + ', "on_duty_status": "wrapup"}}',
    '{"received_at": 1700000000000, "payload": {}, ' + _AGENT + ', "on_duty_status": "x"}',
    '{"data": [{' + _AGENT + ', "on_duty_status": "wrapup", "date": 1700000000000}]}',
    "[{" + _AGENT + ', "on_duty_status": "wrapup", "date": 1700000000000}]',
    sign({"target": {"id": 5013}, "on_duty_status": "wrapup", "date": 1_700_000_000_000}),
    sign({"target": {"id": ""}, "on_duty_status": "wrapup", "date": 1_700_000_000_000}),
]


def test_both_paths_stage_agent_status_events_alike(tmp_path: Path) -> None:
    path = tmp_path / "agents.ndjson"
    lines = [*AGENT_STATUS_CASES, *EDGE_CASES[:6], *AGENT_STATUS_CASES[:3]]
    path.write_text("\n".join(lines) + "\n")
    assert_same_staging(path, tmp_path)


def test_plain_agent_status_lines_take_the_column_wise_path(tmp_path: Path) -> None:
    """Plain agent status events among call events are all candidates, none left over."""
    agents = [
        {"target": {"id": 5000 + n}, "on_duty_status": "wrapup", "date": 1_700_000_000_000 + n}
        for n in range(20)
    ]
    calls = [event(call_id=n, state="ringing") for n in range(1, 21)]
    path = tmp_path / "mixed.ndjson"
    lines = [line for pair in zip(calls, agents, strict=True) for line in pair]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    [chunk] = list(read_chunks(path))[:1]
    plain = plain_lines(chunk, Decoder(SECRET.encode(), None, WINDOW))
    assert plain is not None and plain.others == []
    with duckdb.connect() as con:
        text = extract_fields(con, plain.candidates, DIALPAD_CALL_EVENTS)
        agent_text = extract_fields(con, plain.candidates, DIALPAD_AGENT_STATUS_EVENTS)
    calls_found = text.select(is_plain_dialpad_event()).to_series().to_list()
    agents_found = agent_text.select(is_plain_agent_status_event()).to_series().to_list()
    assert calls_found == [True, False] * 20
    assert agents_found == [False, True] * 20
    folder = tmp_path / "staged"
    _stage(path, folder, True, SECRET)
    staged = pl.read_parquet(folder / "dialpad_agent_status_events" / "*.parquet")
    assert staged["target_id"].to_list() == list(range(5000, 5020))
    assert staged["source_line"].to_list() == list(range(2, 41, 2))


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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def signed(claims: bytes, secret: str = SECRET, header: dict[str, object] | None = None) -> str:
    """A token over any claims bytes (pyjwt signs only JSON objects)."""
    head = json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode()
    signing_input = f"{_b64(head)}.{_b64(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(payload: object) -> bytes:
    return json.dumps(payload).encode()


VALID = [
    sign(event(call_id=50 + n, state="ringing", date_rang=1_700_000_000_000)) for n in range(5)
]
JWT_CASES = [
    *VALID,
    # claims as exact text: number text, big ids, unicode, escapes, key order, spaces around
    signed(b'{"call_id": 60, "state": "hangup", "date_ended": 1.7e12, "mos_score": 1.50}'),
    signed(b'{"state": "hangup", "call_id": 9007199254740993, "date_ended": 1700000000000}'),
    signed('{"call_id": 61, "state": "hangup", "recap_summary": "café 😀 \\u00e9"}'.encode()),
    signed(b' \t{"call_id": 62, "state": "queued", "date_queued": 1700000000000}\r\n '),
    # the same event as a JWT and as a JSON line: one identity
    sign(event(call_id=63, state="connected", date_connected=1_700_000_000_000)),
    json.dumps(event(call_id=63, state="connected", date_connected=1_700_000_000_000)),
    # refused tokens: forged, another key, another algorithm, malformed
    f"{VALID[0].rsplit('.', 1)[0]}.{_b64(b'x' * 32)}",
    sign(event(call_id=64), secret="another-secret-0123456789abcdef0123"),
    sign(event(call_id=65), secret=SECRET * 2, algorithm="HS512"),
    signed(_claims(event(call_id=66)), header={"alg": "none"}),
    signed(_claims(event(call_id=67)), header={"alg": "RS256", "typ": "JWT"}),
    signed(_claims(event(call_id=68)), header={"alg": "HS256", "kid": 7}),
    f"{VALID[1]}.{VALID[1].rsplit('.', 1)[1]}",  # a segment too many
    f"{VALID[2]}=",  # padding
    VALID[3][: len(VALID[3]) // 2] + "." + "..",
    # claims that verify but are not an object: not JSON, not UTF-8, an array, a scalar, text
    signed(b"not json"),
    signed(b"\xff\xfe"),
    signed(_claims([event(call_id=69), event(call_id=70)])),
    signed(b"42"),
    signed(b'"text"'),
    signed(b"{} {}"),
    signed(b'{"call_id": 71, "state": "hangup"'),
    # objects msgspec refuses or that are too deep
    signed(b'{"call_id": 72, "state": "hangup", "recap_summary": "\\ud800"}'),
    signed(
        b'{"call_id": 73, "state": "hangup", "custom_data": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}"
    ),
    # claims of every other kind: MessageBird, envelopes, list responses, not events
    signed(_claims({"id": "leg-1", "callId": "call-1", "status": "ongoing", "createdAt": 1.7e12})),
    signed(_claims({"id": "call-2", "status": "ended", "createdAt": "2023-11-14T22:13:20Z"})),
    signed(_claims({"received_at": 1_700_000_000_000, "payload": event(call_id=74)})),
    signed(_claims({"received_at": 1_700_000_000_000, "payload": sign(event(call_id=75))})),
    signed(_claims({"data": [event(call_id=76)]})),
    signed(_claims({})),
    signed(_claims({"a": 1})),
    # claims a plain event in all but its call_id or state
    signed(_claims(event(call_id=0))),
    signed(_claims(event(call_id=" 77 "))),
    signed(_claims(event(call_id=78, state=""))),
    signed(_claims(event(call_id=79, state=5))),
    signed(_claims(event(call_id=80, state="hangup", callId="mb-1", id="leg-2"))),
    # fields that do not type, times outside the window, unknown keys: quarantined by the
    # flattening with the token as the raw text
    signed(_claims(event(call_id=81, state="hangup", date_ended="soon"))),
    signed(_claims(event(call_id=82, state="hangup", date_started=99999999999999999))),
    signed(_claims(event(call_id=83, state="ringing", brand_new=1))),
    # whitespace around a token, and a token JSON whitespace does not surround
    f"  {VALID[4]}\t",
    f"{VALID[4]}\r",
    f"\x0b{VALID[4]}",
    f"\xa0{VALID[4]}",
    # other lines between the tokens
    "",
    '{"call_id": 84, "state": "ringing", "date_rang": 1700000000000}',
    f"[{json.dumps(VALID[0])}]",
    json.dumps({"received_at": 1_700_000_000_000, "payload": VALID[1]}),
    "not json",
]


@pytest.mark.parametrize("secret", [SECRET, None])
def test_both_paths_stage_jwt_lines_alike(tmp_path: Path, secret: str | None) -> None:
    """Every verdict a token can have, with the secret and without one (`no_secret`)."""
    path = tmp_path / "mixed.jwt"
    path.write_text("\n".join(JWT_CASES) + "\n")
    assert_same_staging(path, tmp_path, secret)


def test_both_paths_stage_jwt_lines_across_chunks_alike(tmp_path: Path) -> None:
    """A whole `.jwt` file of events, some copies, some forgeries, over several chunks."""
    lines = [
        sign(event(call_id=100 + n % 900, state="ringing", date_rang=1_700_000_000_000 + n))
        for n in range(3000)
    ]
    lines[::97] = [f"{line[:-2]}AA" for line in lines[::97]]
    path = tmp_path / "events.jwt"
    path.write_text("\n".join(lines) + "\n")
    assert_same_staging(path, tmp_path)


def test_jwt_lines_take_the_column_wise_path(tmp_path: Path) -> None:
    """Tokens that verify are candidates with the token as the raw text; refused ones are
    rejected there and then; neither is left to the per-record path."""
    claims = [event(call_id=2**60 + n, state="ringing", price=1.50) for n in range(50)]
    forged = f"{sign(claims[0]).rsplit('.', 1)[0]}.{_b64(b'x' * 32)}"
    tokens = [sign(payload) for payload in claims]
    path = tmp_path / "plain.jwt"
    path.write_text("".join(f"{token}\n" for token in [*tokens, forged]))
    [chunk] = list(read_chunks(path))[:1]
    plain = plain_lines(chunk, Decoder(SECRET.encode(), None, WINDOW))
    assert plain is not None and plain.others == []
    assert plain.candidates["raw_text"].to_list() == tokens
    assert plain.candidates["event_hash"].to_list() == [
        sha256_hex(canonical_json(loads(json.dumps(payload)))) for payload in claims
    ]
    [rejected] = plain.rejected
    assert (rejected.line, rejected.raw_text, rejected.reason, rejected.provider) == (
        51,
        forged,
        "bad_signature",
        "dialpad",
    )
