"""Readers of the published marts file are never blocked and never see a half-built state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ingest.cli import main
from ingest.publish import published_path
from ingest.sample import write_sample

READER = """
import json, sys, time, duckdb
path, stop, out = sys.argv[1:4]
seen, errors = [], []
while True:
    try:
        with duckdb.connect(path, read_only=True) as con:
            tables = [t for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1").fetchall()]
            counts = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}
            legs = con.execute("select count(distinct conversation_id) from marts.fct_call_legs").fetchone()[0]
            with_legs = con.execute("select count(*) from marts.fct_conversations where leg_count > 0").fetchone()[0]
        seen.append([counts, legs == with_legs])
    except Exception as error:
        errors.append(repr(error))
    try:
        open(stop).close()
        break
    except FileNotFoundError:
        time.sleep(0.02)
json.dump({"seen": seen, "errors": errors}, open(out, "w"))
"""


def _state(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}


def test_a_reader_during_a_load_sees_only_whole_builds(tmp_path: Path) -> None:
    write_sample(tmp_path / "traffic", events=500, seed=21)
    landing = sorted((tmp_path / "traffic" / "landing").iterdir())
    secret = str(tmp_path / "traffic" / "jwt_secret.txt")
    db = tmp_path / "warehouse.duckdb"
    first, second = landing[: len(landing) // 2], landing[len(landing) // 2 :]

    assert (
        main(["run", "--quiet", "--db", str(db), "--jwt-secret-file", secret, *map(str, first)])
        == 0
    )
    published = published_path(db)
    assert published == tmp_path / "warehouse.marts.duckdb"
    before = _state(published)
    with duckdb.connect(str(db), read_only=True) as con:  # the published copy is the marts, whole
        assert before == {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in before
        }

    stop, out = tmp_path / "stop", tmp_path / "seen.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(out)])
    time.sleep(1)
    assert (
        main(["run", "--quiet", "--db", str(db), "--jwt-secret-file", secret, *map(str, second)])
        == 0
    )
    after = _state(published)
    time.sleep(0.5)
    stop.touch()
    assert reader.wait(timeout=60) == 0

    observed = json.loads(out.read_text())
    assert observed["errors"] == []
    assert after != before
    assert len(observed["seen"]) > 10
    assert all(counts in (before, after) and consistent for counts, consistent in observed["seen"])
    assert observed["seen"][-1][0] == after
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.access(published, os.R_OK)
