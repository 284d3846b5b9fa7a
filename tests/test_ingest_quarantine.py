"""Each bad record goes to raw.quarantine with its reason; the load goes on; counts add up."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from conftest import FIXTURES, SECRET, event, sign, write_lines

from ingest.cli import main

SEED_RECAP = (FIXTURES / "seed_recap_trailing_comma.txt").read_text()

CASES = [
    ("not_json", "{not json"),
    ("not_json", " ".join(SEED_RECAP.split())),  # the seed's recap sample: a trailing comma
    ("not_json", "hello world"),
    ("not_an_object", "42"),
    ("bad_envelope", '{"received_at": 1700000000000, "payload": 17}'),
    ("malformed_jwt", "eyJub3QganNvbg.e30.c2ln"),  # the header is not JSON
    ("malformed_jwt", jwt.api_jws.encode(b"not json", SECRET, algorithm="HS256")),
    ("bad_signature", sign(event(1), secret="another-secret-0123456789abcdef01234")),
    ("wrong_algorithm", jwt.encode(event(1), None, algorithm="none")),
    ("wrong_algorithm", sign(event(1), algorithm="HS512")),
    ("missing_call_id", '{"state": "hangup", "date_ended": 1700000000001}'),
    ("missing_call_id", '{"call_id": "", "state": "hangup", "date_ended": 1700000000001}'),
    ("missing_call_id", '{"call_id": 0, "state": "hangup", "date_ended": 1700000000001}'),
    ("missing_state", '{"call_id": 5, "date_ended": 1700000000001}'),
    ("missing_state", '{"call_id": 5, "state": "", "date_ended": 1700000000001}'),
    ("unparseable_field", '{"call_id": "12abc", "state": "hangup", "date_ended": 1700000000001}'),
    ("unparseable_field", '{"call_id": 5, "state": "hangup", "date_ended": "yesterday"}'),
    (
        "unparseable_field",
        '{"call_id": 5, "state": "hangup", "date_ended": 1700000000001, "was_recorded": "maybe"}',
    ),
    (
        "unparseable_field",
        '{"call_id": 99999999999999999999, "state": "hangup", "date_ended": 1700000000001}',
    ),
    ("no_event_time", '{"call_id": 5, "state": "hangup"}'),
]


@pytest.mark.parametrize(("reason", "line"), CASES)
def test_each_bad_record_is_quarantined_with_its_reason(
    tmp_path: Path, ingest, query, reason: str, line: str
) -> None:
    path = write_lines(tmp_path / "in.ndjson", [event(1000), line, event(1001)])
    assert ingest(path) == 0
    assert query("select source_line, raw_text, reason from raw.quarantine") == [
        (2, line.strip(), reason)
    ]
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1000,), (1001,)]


def test_a_jwt_without_a_secret_is_quarantined(tmp_path: Path, ingest, query) -> None:
    path = write_lines(tmp_path / "in.jwt", [sign(event(1))])
    assert ingest(path, secret=False) == 0
    assert query("select reason from raw.quarantine") == [("no_secret",)]
    assert query("select count(*) from raw.dialpad_call_events") == [(0,)]


def test_the_secret_can_come_from_a_file(tmp_path: Path, db: Path, query, monkeypatch) -> None:
    monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret-0123456789abcdef0123456789\n")
    path = write_lines(
        tmp_path / "in.jwt", [sign(event(1), secret="file-secret-0123456789abcdef0123456789")]
    )
    assert (
        main(
            ["ingest", "--quiet", "--db", str(db), "--jwt-secret-file", str(secret_file), str(path)]
        )
        == 0
    )
    assert query("select call_id from raw.dialpad_call_events") == [(1,)]


def test_the_summary_adds_up(tmp_path: Path, db: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", "x" * 32)
    lines = [event(1), event(1), "{bad", event(2), '{"call_id": 3}']
    path = write_lines(tmp_path / "in.ndjson", lines)
    assert main(["ingest", "--db", str(db), str(path)]) == 0
    out = capsys.readouterr().out
    assert "read 5 = loaded 2 + duplicates 1 + quarantined 2" in out
    assert "missing_state 1" in out and "not_json 1" in out


def test_a_line_that_is_not_utf8_is_quarantined(tmp_path: Path, ingest, query) -> None:
    path = tmp_path / "in.ndjson"
    path.write_bytes(
        b'{"call_id": 1, "state": "hangup", "date_ended": 1700000000001, "x": "\xff"}\n'
    )
    assert ingest(path) == 0
    assert query("select reason, detail from raw.quarantine") == [("not_json", "not UTF-8 text")]


def test_reloading_quarantines_nothing_twice(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "a.ndjson.gz", [event(1), "{bad"])
    assert ingest(tmp_path / "a.ndjson.gz") == 0
    write_lines(tmp_path / "a.ndjson.gz", [event(1), "{bad", event(2)])  # grown, re-read whole
    assert ingest(tmp_path / "a.ndjson.gz") == 0
    assert query("select count(*) from raw.quarantine") == [(1,)]
    assert query("select count(*) from raw.dialpad_call_events") == [(2,)]
