"""Operating unattended (docs/contract.md §9): growing files, failed files, the dead-letter
queue, writers that never collide, and records that can never stop a load."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from conftest import SECRET, event, sign, write_lines

from ingest.cli import SAMPLE_DIR, main
from ingest.sink import _commit_threads
from ingest.warehouse import lock_path

REPO = Path(__file__).parents[1]


def _lines(*payloads: dict[str, object]) -> str:
    return "".join(json.dumps(p) + "\n" for p in payloads)


# --- growing files -------------------------------------------------------------------------


def test_a_line_caught_mid_write_waits_and_loads_whole_once_completed(
    tmp_path: Path, ingest, query, capsys
) -> None:
    """5 lines and half of line 6 (a hangup): the half line is pending, neither loaded nor
    quarantined; once the writer finishes it, the next load starts at its first byte."""
    path = tmp_path / "landing" / "calls.ndjson"
    path.parent.mkdir()
    first_five = _lines(*(event(i, "ringing") for i in range(1, 6)))
    sixth = json.dumps(event(6, "hangup")) + "\n"
    path.write_text(first_five + sixth[:40])
    assert main(["ingest", "--db", str(tmp_path / "warehouse.duckdb"), str(path)]) == 0
    assert "read 6 = loaded 5 + duplicates 0 + quarantined 0 + pending 1" in capsys.readouterr().out
    assert query("select count(*) from raw.quarantine") == [(0,)]
    assert query("select end_line, end_offset, pending_count from raw.load_log") == [
        (5, len(first_five), 1)
    ]

    with path.open("a") as handle:  # the writer finishes line 6 and writes line 7
        handle.write(sixth[40:] + json.dumps(event(7, "ringing")) + "\n")
    assert main(["ingest", "--db", str(tmp_path / "warehouse.duckdb"), str(path)]) == 0
    assert "read 2 = loaded 2 + duplicates 0 + quarantined 0 + pending 0" in capsys.readouterr().out
    assert query(
        "select call_id, state, source_line from raw.dialpad_call_events where call_id > 5 order by 1"
    ) == [
        (6, "hangup", 6),
        (7, "ringing", 7),
    ]
    assert query("select count(*) from raw.quarantine") == [(0,)]
    assert query(
        "select start_offset, end_line, pending_count from raw.load_log order by finished_at"
    ) == [(0, 5, 1), (len(first_five), 7, 0)]


def test_a_last_line_without_its_newline_is_consumed_when_it_is_already_whole(
    tmp_path: Path, ingest, query
) -> None:
    """A complete JSON object or a JWT with its whole signature needs no newline; a JWT cut
    inside its signature waits."""
    whole = write_lines(tmp_path / "a.ndjson", [event(1)])
    whole.write_text(whole.read_text() + json.dumps(event(2)))  # no newline after line 2
    token = sign(event(3))
    jwts = tmp_path / "b.jwt"
    jwts.write_text(sign(event(4)) + "\n" + token[:-5])  # line 2 cut inside its signature
    assert ingest(whole, jwts) == 0
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,), (4,)]
    assert query("select path, pending_count from raw.load_log order by path") == [
        (str(whole), 0),
        (str(jwts), 1),
    ]
    jwts.write_text(sign(event(4)) + "\n" + token + "\n")
    assert ingest(jwts) == 0
    assert query("select call_id, source_line from raw.dialpad_call_events where call_id = 3") == [
        (3, 2)
    ]


# --- failed files fail alone ---------------------------------------------------------------


def test_a_truncated_gzip_fails_alone_and_loads_once_complete(
    tmp_path: Path, ingest, query, capsys
) -> None:
    landing = tmp_path / "landing"
    write_lines(landing / "a.ndjson", [event(1), event(2)])
    whole = gzip.compress(_lines(*(event(100 + i) for i in range(50))).encode())
    bad = landing / "b.ndjson.gz"
    bad.write_bytes(whole[: len(whole) // 2])  # an upload caught half-way
    write_lines(landing / "c.jwt", [sign(event(3))])
    assert main(["ingest", "--db", str(tmp_path / "warehouse.duckdb"), str(landing)]) == 0
    out = capsys.readouterr().out
    assert "read 4 = loaded 3 + duplicates 0 + quarantined 1 + pending 0" in out
    assert f"failed file: {bad} (corrupt_gzip" in out
    # nothing of it is loaded, not even its readable start; one row, with size and hash
    assert query("select count(*) from raw.dialpad_call_events where call_id >= 100") == [(0,)]
    half_hash = hashlib.sha256(bad.read_bytes()).hexdigest()
    assert query(
        "select source_file, source_line, raw_text, reason, raw_hash, file_bytes, released_at "
        "from raw.quarantine"
    ) == [(str(bad), 0, "", "corrupt_gzip", half_hash, len(whole) // 2, None)]

    assert ingest(landing) == 0  # the same content again: no second row
    assert query("select count(*) from raw.quarantine") == [(1,)]

    bad.write_bytes(whole)  # the upload completes
    assert ingest(landing) == 0
    assert query("select count(*) from raw.dialpad_call_events where call_id >= 100") == [(50,)]
    released = query("select released_at is not null, released_load_id from raw.quarantine")
    loaded_by = query(f"select load_id from raw.load_log where path = '{bad}'")
    assert released == [(True, loaded_by[0][0])]


def test_a_json_document_that_does_not_parse_fails_alone(tmp_path: Path, ingest, query) -> None:
    write_lines(tmp_path / "good.ndjson", [event(1)])
    cut = json.dumps([event(10), event(11), event(12)])
    (tmp_path / "cut.json").write_text(cut[: len(cut) - 30])  # ends inside element 3
    (tmp_path / "ndjson_named.json").write_text(_lines(event(20), event(21)))
    (tmp_path / "bad_element.json").write_text('[{"call_id": 30, "state": "hangup",}]')
    assert ingest(tmp_path) == 0
    assert query("select call_id from raw.dialpad_call_events") == [(1,)]
    assert query("select source_file, reason from raw.quarantine order by 1") == [
        (str(tmp_path / "bad_element.json"), "invalid_json_document"),
        (str(tmp_path / "cut.json"), "invalid_json_document"),
        (str(tmp_path / "ndjson_named.json"), "invalid_json_document"),
    ]


def test_a_file_that_cannot_be_opened_fails_alone(
    tmp_path: Path, ingest, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No permission (simulated: tests may run as root, whom permissions do not stop)."""
    write_lines(tmp_path / "ok.ndjson", [event(1)])
    locked = write_lines(tmp_path / "locked.ndjson", [event(2)])
    real_open = Path.open

    def refuse(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    assert ingest(tmp_path) == 0
    assert query("select call_id from raw.dialpad_call_events") == [(1,)]
    assert query("select source_file, reason, detail, file_bytes from raw.quarantine") == [
        (str(locked), "unreadable_file", "Permission denied", locked.stat().st_size)
    ]
    monkeypatch.setattr(Path, "open", real_open)
    assert ingest(tmp_path) == 0  # readable again: loaded, its row released
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,)]
    assert query("select count(*) from raw.quarantine where released_at is null") == [(0,)]


# --- the dead-letter queue -----------------------------------------------------------------


def test_jwts_loaded_before_the_secret_existed_are_retried_once_it_does(
    tmp_path: Path, db: Path, query, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
    hooks = write_lines(tmp_path / "hooks.jwt", [sign(event(1)), sign(event(2)), "x.y.z"])
    assert main(["ingest", "--quiet", "--db", str(db), str(hooks)]) == 0
    assert query("select reason, count(*) from raw.quarantine group by 1 order by 1") == [
        ("malformed_jwt", 1),
        ("no_secret", 2),
    ]
    assert main(["ingest", "--quiet", "--db", str(db), str(hooks)]) == 0  # skipped: unchanged

    # a wrong secret: still quarantined, still open, with the reason of this attempt
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", "not-the-secret")
    assert main(["quarantine", "retry", "--db", str(db), "--reason", "no_secret"]) == 0
    assert (
        "retried 2 = loaded 0 + duplicates 0 + still quarantined 2; 0 quarantine rows released"
        in capsys.readouterr().out
    )
    assert query(
        "select source_line, reason from raw.quarantine where released_at is null order by 1"
    ) == [(1, "bad_signature"), (2, "bad_signature"), (3, "malformed_jwt")]

    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    assert main(["quarantine", "retry", "--db", str(db)]) == 0
    assert (
        "retried 3 = loaded 2 + duplicates 0 + still quarantined 1; 2 quarantine rows released"
        in capsys.readouterr().out
    )
    assert query(
        "select call_id, source_file, source_line from raw.dialpad_call_events order by 1"
    ) == [
        (1, str(hooks), 1),
        (2, str(hooks), 2),
    ]
    retry_load = query("select distinct load_id from raw.dialpad_call_events")[0][0]
    assert query(
        "select source_line, reason, released_at is not null, released_load_id "
        "from raw.quarantine order by 1"
    ) == [(1, "bad_signature", True, retry_load), (2, "bad_signature", True, retry_load),
          (3, "malformed_jwt", False, None)]  # fmt: skip

    assert main(["quarantine", "--db", str(db), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["reason"], r["source_file"], r["records"]) for r in listed] == [
        ("malformed_jwt", str(hooks), 1)
    ]


def test_an_element_of_an_envelope_keeps_its_time_through_a_retry(
    tmp_path: Path, db: Path, query, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
    payload = event(5, "ringing", event_timestamp=None, date_rang=1_700_000_001_000)
    envelope = {"received_at": 1_700_000_009_000, "payload": [sign(payload), event(6)]}
    capture = write_lines(tmp_path / "capture.ndjson", [envelope])
    assert main(["ingest", "--quiet", "--db", str(db), str(capture)]) == 0
    assert query("select call_id from raw.dialpad_call_events") == [(6,)]
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    assert main(["quarantine", "retry", "--quiet", "--db", str(db)]) == 0
    assert query(
        "select epoch_ms(event_at), event_at_source from raw.dialpad_call_events where call_id = 5"
    ) == [(1_700_000_009_000, "received")]


def test_a_retry_rereads_a_failed_file_that_is_still_there(tmp_path: Path, ingest, query) -> None:
    bad = tmp_path / "a.json"
    bad.write_text('[{"call_id": 1, "state": "hangup", "date_ended": 1700000000001}')  # no ]
    assert ingest(bad) == 0
    assert query("select reason from raw.quarantine where released_at is null") == [
        ("invalid_json_document",)
    ]
    assert main(["quarantine", "retry", "--quiet", "--db", str(tmp_path / "warehouse.duckdb")]) == 0
    assert query("select count(*) from raw.quarantine where released_at is null") == [(1,)]
    bad.write_text('[{"call_id": 1, "state": "hangup", "date_ended": 1700000000001}]')
    assert main(["quarantine", "retry", "--quiet", "--db", str(tmp_path / "warehouse.duckdb")]) == 0
    assert query("select call_id from raw.dialpad_call_events") == [(1,)]
    assert query("select count(*) from raw.quarantine where released_at is null") == [(0,)]


# --- writers never collide; readers never create -------------------------------------------


_HOLD = """
import sys, time
from pathlib import Path
from ingest.warehouse import writing
with writing(Path(sys.argv[1])):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold_for_writing(db: Path, seconds: float) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(db), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    return holder


def test_a_second_writer_is_told_the_warehouse_is_busy_or_waits(
    tmp_path: Path, db: Path, ingest, query, capsys
) -> None:
    landing = write_lines(tmp_path / "a.ndjson", [event(1)])
    holder = _hold_for_writing(db, 3)
    try:
        assert main(["ingest", "--quiet", "--db", str(db), str(landing)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"callmart: error: the warehouse {db} is busy: another callmart")
        assert len(err.splitlines()) == 1
        started = time.monotonic()
        assert main(["ingest", "--quiet", "--wait", "30", "--db", str(db), str(landing)]) == 0
        assert time.monotonic() - started > 1  # it waited for the holder to finish
    finally:
        holder.wait()
    assert query("select call_id from raw.dialpad_call_events") == [(1,)]


@pytest.mark.parametrize("command", [["build"], ["status"], ["quarantine"], ["report"]])
def test_commands_that_do_not_load_refuse_a_warehouse_that_does_not_exist(
    tmp_path: Path, command: list[str], capsys
) -> None:
    typo = tmp_path / "typo.duckdb"
    assert main([*command, "--db", str(typo)]) == 1
    assert capsys.readouterr().err == (
        f"callmart: error: no warehouse at {typo}: load something first (callmart ingest or run)\n"
    )
    assert not typo.exists()


def test_status_reads_while_a_writer_holds_the_warehouse(
    tmp_path: Path, db: Path, ingest, capsys
) -> None:
    write_lines(tmp_path / "a.ndjson", [event(1), "{bad"])
    (tmp_path / "b.ndjson").write_text(json.dumps(event(2))[:20])  # pending
    assert ingest(tmp_path) == 0
    assert main(["status", "--db", str(db), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["feed_health"] == []  # never built
    assert status["live"]["open_quarantine_by_reason"] == {"not_json": 1}
    assert [p["path"] for p in status["live"]["pending_lines"]] == [str(tmp_path / "b.ndjson")]
    holder = _hold_for_writing(db, 5)
    try:
        assert main(["status", "--db", str(db), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["live"] is None
        assert main(["quarantine", "--db", str(db)]) == 1
        assert "is being written" in capsys.readouterr().err
    finally:
        holder.kill()
        holder.wait()


# --- no record can stop a load -------------------------------------------------------------


def test_records_that_once_stopped_a_load_are_quarantined_or_loaded(
    tmp_path: Path, ingest, query
) -> None:
    base = event(1, "hangup", date_ended=1_700_000_002_000)
    lines = [
        "[" * 1000 + "]" * 1000,  # nested 1,000 levels: not_json
        '{"call_id": 2, "state": "hangup", "date_ended": 1700000002000, "x": "\\ud800"}',
        json.dumps({"received_at": 1e30, "payload": dict(base, call_id=3)}),
        '{"received_at": 1e400, "payload": {"call_id": 4, "state": "hangup", '
        '"date_ended": 1700000002000}}',
        json.dumps({"received_at": 10**16, "payload": dict(base, call_id=5)}),
        json.dumps(dict(base, call_id=6, date_started=10**16)),
        json.dumps(dict(base, call_id=7, event_timestamp=10**16)),
        json.dumps(dict(base, call_id=8, event_timestamp=2**63 - 1)),
        json.dumps({"call_id": 9, "state": "hangup", "date_ended": 1_700_000_002_000_000}),
        sign(event(10)) + "=",  # `=` padding, which pyjwt accepts
        sign(event(11)) + ".extra",  # an extra segment: malformed
    ]
    path = write_lines(tmp_path / "a.ndjson", lines)
    assert ingest(path) == 0
    assert query(
        "select call_id, epoch_ms(event_at), event_at_source, date_started, "
        "implausible_time_fields from raw.dialpad_call_events order by 1"
    ) == [
        (2, 1_700_000_002_000, "fallback", None, None),
        (3, 1_700_000_001_000, "event", 1_700_000_000_000, ["received_at"]),
        (4, 1_700_000_002_000, "fallback", None, ["received_at"]),
        (5, 1_700_000_001_000, "event", 1_700_000_000_000, ["received_at"]),
        (6, 1_700_000_001_000, "event", None, ["date_started"]),
        (7, 1_700_000_002_000, "fallback", 1_700_000_000_000, ["event_timestamp"]),
        (8, 1_700_000_002_000, "fallback", 1_700_000_000_000, ["event_timestamp"]),
        (10, 1_700_000_001_000, "event", 1_700_000_000_000, None),
    ]
    assert query("select source_line, reason from raw.quarantine order by 1") == [
        (1, "not_json"),
        (9, "implausible_time"),  # its only time is in microseconds
        (11, "malformed_jwt"),
    ]
    surrogate = query(
        "select event_hash, payload ->> '$.x' from raw.dialpad_call_events where call_id = 2"
    )
    canonical = '{"call_id":2,"date_ended":1700000002000,"state":"hangup","x":"\ufffd"}'
    assert surrogate == [(hashlib.sha256(canonical.encode()).hexdigest(), "\ufffd")]


def test_padding_pyjwt_accepts_is_accepted(tmp_path: Path, ingest, query) -> None:
    """A base64url segment may end in `=` padding where its length needs it, as pyjwt allows."""
    header, payload, signature = sign(event(12)).split(".")
    padded = ".".join(s + "=" * (-len(s) % 4) for s in (header, payload, signature))
    assert ingest(write_lines(tmp_path / "a.jwt", [padded])) == 0
    assert query("select call_id from raw.dialpad_call_events") == [(12,)]


def test_a_byte_order_mark_is_not_part_of_the_first_record(tmp_path: Path, ingest, query) -> None:
    (tmp_path / "a.ndjson").write_bytes(b"\xef\xbb\xbf" + _lines(event(1), event(2)).encode())
    (tmp_path / "b.json").write_bytes(b"\xef\xbb\xbf" + json.dumps([event(3)], indent=2).encode())
    assert ingest(tmp_path) == 0
    assert query("select call_id from raw.dialpad_call_events order by 1") == [(1,), (2,), (3,)]
    assert query("select count(*) from raw.quarantine") == [(0,)]


def test_names_no_encoding_can_show_and_folders_with_glob_characters(tmp_path: Path, query) -> None:
    folder = tmp_path / "wh[1]"
    db = folder / "warehouse.duckdb"
    landing = os.fsencode(tmp_path / "landing")
    os.makedirs(landing)
    with open(os.path.join(landing, b"calls-\xff.ndjson"), "w") as handle:
        handle.write(json.dumps(event(1)) + "\n")
    assert main(["ingest", "--quiet", "--db", str(db), os.fsdecode(landing)]) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute(
            "select call_id, source_file from raw.dialpad_call_events"
        ).fetchall() == [(1, f"{tmp_path}/landing/calls-\\xff.ndjson")]
    assert main(["ingest", "--quiet", "--db", str(db), os.fsdecode(landing)]) == 0  # skipped


def test_a_list_response_document_is_streamed_element_by_element(
    tmp_path: Path, ingest, query
) -> None:
    legs = [
        {"id": f"leg-{i}", "callId": "call-1", "status": "hangup", "direction": "incoming",
         "createdAt": "2026-03-02T10:00:00Z", "updatedAt": "2026-03-02T10:05:00Z"}
        for i in range(3)
    ]  # fmt: skip
    document = {"data": legs, "pagination": {"totalCount": 3}, "_links": {"self": "/calls"}}
    (tmp_path / "legs.json").write_text(json.dumps(document, indent=2))
    assert ingest(tmp_path / "legs.json") == 0
    assert query("select leg_id, source_line from raw.messagebird_legs order by 1") == [
        ("leg-0", 1),
        ("leg-1", 2),
        ("leg-2", 3),
    ]


# --- children die with the parent ----------------------------------------------------------


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_killing_a_load_kills_its_workers_and_frees_the_callers_output(tmp_path: Path) -> None:
    big = tmp_path / "big.ndjson"
    line = json.dumps(event(1, target={"id": 1, "name": "x" * 900})) + "\n"
    with big.open("w") as handle:
        for i in range(75_000):  # about 75 MB: enough for two worker processes
            handle.write(line.replace('"call_id": 1,', f'"call_id": {i + 1},', 1))
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "ingest", "--workers", "2", "--db",
         str(tmp_path / "w.duckdb"), str(big)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(_children(process.pid)) < 2:
        assert process.poll() is None, "the load ended before its workers started"
        assert time.monotonic() < deadline, "no worker processes in a minute"
        time.sleep(0.05)
    children = _children(process.pid)
    process.kill()
    assert process.stdout is not None
    started = time.monotonic()
    process.stdout.read()  # returns when no process holds the captured output any more
    assert time.monotonic() - started < 10
    process.wait()
    time.sleep(0.5)
    assert [pid for pid in children if _alive(pid)] == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_killing_a_build_kills_dbt_and_frees_the_warehouse(tmp_path: Path, ingest) -> None:
    db = tmp_path / "warehouse.duckdb"
    assert ingest(write_lines(tmp_path / "a.ndjson", [event(1)])) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "build", "--quiet", "--db", str(db)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        env={**os.environ, "DBT_TARGET_PATH": str(tmp_path / "target")},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not _children(process.pid):
        assert process.poll() is None, "the build ended before dbt started"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    dbt = _children(process.pid)
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in dbt):
        assert time.monotonic() < deadline, "dbt outlived the build that started it"
        time.sleep(0.1)
    with duckdb.connect(str(db)) as con:  # nobody holds the file any more
        assert con.execute("select count(*) from raw.dialpad_call_events").fetchall() == [(1,)]
    assert lock_path(db).exists()


def test_a_messagebird_time_from_a_broken_clock_is_nulled_and_named(
    tmp_path: Path, ingest, query
) -> None:
    leg = {
        "id": "leg-1", "callId": "call-1", "status": "hangup", "direction": "incoming",
        "createdAt": "2026-03-02T10:00:00Z", "updatedAt": "9999-12-31T23:59:59Z",
        "answeredAt": "1970-01-01T00:00:01Z", "endedAt": "2026-03-02T10:05:00Z",
    }  # fmt: skip
    assert ingest(write_lines(tmp_path / "mb.ndjson", [leg])) == 0
    assert query(
        "select created_at, updated_at, answered_at, implausible_time_fields "
        "from raw.messagebird_legs"
    ) == [(datetime(2026, 3, 2, 10), None, None, ["updated_at", "answered_at"])]


@pytest.mark.parametrize(("limit", "threads"), [("512MB", 1), ("1GB", 2), ("2GB", 4), ("24GB", 8)])
def test_the_commit_takes_a_thread_per_450_mib_of_its_memory_limit(
    limit: str, threads: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 512 MB = 488.3 MiB: one thread; 1 GB = 953.7 MiB: two; 2 GB = 1907.3 MiB: four;
    # 24 GB: as many as the (here 8) cores
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    with duckdb.connect() as con:
        con.execute(f"set memory_limit = '{limit}'")
        assert _commit_threads(con) == threads


def _raw_rows(sink: str, target: Path) -> dict[str, int]:
    """Rows per raw table of a warehouse (`--db`) or a lake (`--to-parquet`), the empty left out."""

    def relation(table: str) -> str:
        if sink == "--db":
            return f"wh.raw.{table}"
        files = [str(file) for file in sorted((target / table).rglob("*.parquet"))]
        return f"read_parquet({files})" if files else "(select 1 where false)"

    tables = ("dialpad_call_events", "dialpad_agent_status_events", "quarantine", "load_log")
    with duckdb.connect() as con:
        if sink == "--db":
            con.execute(f"attach '{target}' as wh (read_only)")
        rows = {
            t: con.execute(f"select count(*) from {relation(t)}").fetchall()[0][0] for t in tables
        }
    return {table: count for table, count in rows.items() if count}


@pytest.mark.parametrize("sink", ["--db", "--to-parquet"])
def test_a_load_beyond_the_memory_limit_stops_in_one_line_and_keeps_nothing(
    sink: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # docs/contract.md §9: a load's DuckDB works within CALLMART_MEMORY_LIMIT, the lake's too.
    # 2 MB cannot hold what moving the sample's rows needs, even spilling.
    landing = SAMPLE_DIR / "landing"
    target = tmp_path / ("w.duckdb" if sink == "--db" else "lake")
    monkeypatch.setenv("CALLMART_MEMORY_LIMIT", "2MB")
    assert main(["ingest", "--quiet", sink, str(target), str(landing)]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("callmart: error: out of memory within CALLMART_MEMORY_LIMIT=2MB (")
    assert line.endswith("): set a larger CALLMART_MEMORY_LIMIT")
    assert _raw_rows(sink, target) == {}
    assert not list(tmp_path.rglob("*.parquet"))  # no staged chunk, no pending lake file

    # nothing of it is left to change the next load: the default limit loads what a first load does
    monkeypatch.delenv("CALLMART_MEMORY_LIMIT")
    assert main(["ingest", "--quiet", sink, str(target), str(landing)]) == 0
    fresh = tmp_path / "fresh" / target.name
    assert main(["ingest", "--quiet", sink, str(fresh), str(landing)]) == 0
    assert _raw_rows(sink, target) == _raw_rows(sink, fresh) != {}
