"""One load is one transaction: SIGKILL mid-load leaves the warehouse as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
from conftest import event, write_lines

from ingest.load import staging_root


def _snapshot(db: Path) -> tuple[object, ...]:
    with duckdb.connect(str(db), read_only=True) as con:
        return tuple(
            con.execute(sql).fetchall()
            for sql in (
                "select count(*), sum(call_id) from raw.dialpad_call_events",
                "select count(*) from raw.quarantine",
                "select path, read_count from raw.load_log order by path",
            )
        )


def test_a_kill_during_a_load_changes_nothing(tmp_path: Path, ingest) -> None:
    db = tmp_path / "warehouse.duckdb"
    write_lines(tmp_path / "first" / "a.ndjson", [event(1), event(2), "{bad"])
    assert ingest(tmp_path / "first") == 0
    before = _snapshot(db)

    big = tmp_path / "big" / "big.ndjson"
    big.parent.mkdir()
    with big.open("w") as handle:
        for i in range(150_000):
            handle.write(json.dumps(event(10_000 + i, target={"id": i, "name": "x" * 200})) + "\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "ingest", "--quiet", "--db", str(db), str(big)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    deadline = time.monotonic() + 120
    while not any(staging_root(db).rglob("*.parquet")):  # mid-load: chunks are being staged
        assert process.poll() is None, "the load finished before it could be killed"
        assert time.monotonic() < deadline, "the load staged nothing in two minutes"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    assert _snapshot(db) == before
    assert staging_root(db).exists()  # what the killed load left behind...
    assert ingest(big) == 0  # the next run completes the load
    assert not staging_root(db).exists()  # ...and the next load removed
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.dialpad_call_events").fetchall() == [
            (150_002,)
        ]
