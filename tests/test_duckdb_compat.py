"""BI tools open our files with their own, older DuckDB (docs/contract.md §10): a real DuckDB 1.1
reads the published marts file and the warehouse of the bundled sample, every table and
every comment, read-only.

DuckDB 1.1 runs in a venv of its own (the newest 1.1.x from the package registry), made once
and kept under ${XDG_CACHE_HOME:-~/.cache}/callmart-tests/duckdb-1.1/; a lock file serialises
its creation between pytest workers. It takes a few seconds with pip's cache warm. Without
the registry the tests skip, except under CI ($CI set), where they fail.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

import ingest
from ingest.build import project_dir
from ingest.cli import main
from ingest.publish import STORAGE_VERSION_NUMBER, published_path, storage_version_number

OLD_DUCKDB = "duckdb==1.1.*"

# Run by DuckDB 1.1's python: every table of the file, its row count and comments.
READER = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute(
    "select schema_name, table_name, comment from duckdb_tables() "
    "where database_name = current_database() order by 1, 2").fetchall()
out = {
    "version": duckdb.__version__,
    "counts": {f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
               for s, t, _ in tables},
    "table_comments": {f"{s}.{t}": c for s, t, c in tables if c is not None},
    "column_comments": {
        f"{s}.{t}.{c}": comment for s, t, c, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() "
            "where database_name = current_database() and comment is not null").fetchall()
    },
}
json.dump(out, sys.stdout)
"""


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "callmart-tests"


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"DuckDB 1.1 could not be installed: {why}")
    pytest.skip(f"DuckDB 1.1 could not be installed (no package registry?): {why}")


@pytest.fixture(scope="session")
def duckdb_11() -> Path:
    """The python of a venv holding DuckDB 1.1, made on first use and kept between runs."""
    root = _cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / "duckdb-1.1"
    python = venv / "bin" / "python"
    ready = venv / ".ready"
    with (root / "duckdb-1.1.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second worker waits here, then finds it made
        if not (ready.is_file() and _works(python)):
            shutil.rmtree(venv, ignore_errors=True)  # an interrupted creation, a gone python
            steps = [
                [sys.executable, "-m", "venv", "--without-pip", str(venv)],
                [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
                + ["--disable-pip-version-check", OLD_DUCKDB],
            ]
            for step in steps:
                done = subprocess.run(step, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    _unavailable(f"{' '.join(step[2:4])}: {done.stderr.strip()[-2000:]}")
            ready.write_text(OLD_DUCKDB + "\n")
    return python


def _works(python: Path) -> bool:
    check = "import duckdb, sys; sys.exit(not duckdb.__version__.startswith('1.1.'))"
    try:
        return subprocess.run([str(python), "-c", check], capture_output=True).returncode == 0
    except OSError:
        return False


def _read_with(python: Path, path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(python), "-c", READER, str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _our_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() order by 1, 2"
        ).fetchall()
        return {
            f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }


def _marts_yaml() -> dict[str, dict[str, Any]]:
    """Every marts model of the dbt YAML: its description and its columns' descriptions."""
    models: dict[str, dict[str, Any]] = {}
    for path in sorted((project_dir() / "models" / "marts").rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models", []):
            models[model["name"]] = {
                "description": model.get("description", ""),
                "columns": {c["name"]: c.get("description", "") for c in model.get("columns", [])},
            }
    return models


MARTS = [
    "agg_agent_daily",
    "agg_call_center_hourly",
    "dim_agents",
    "fct_call_center_offers",
    "fct_call_legs",
    "fct_conversations",
    "fct_leg_states",
]


@pytest.mark.parametrize("which", ["published", "warehouse"])
def test_duckdb_11_reads_every_table(which: str, sample_warehouse: Path, duckdb_11: Path) -> None:
    path = published_path(sample_warehouse) if which == "published" else sample_warehouse
    assert storage_version_number(path) == STORAGE_VERSION_NUMBER

    seen = _read_with(duckdb_11, path)

    assert seen["version"].startswith("1.1.")
    ours = _our_counts(path)
    assert seen["counts"] == ours
    marts = sorted(name.removeprefix("marts.") for name in ours if name.startswith("marts."))
    assert set(MARTS) <= set(marts)  # the contract's marts (feed_health and others may join)
    assert seen["counts"]["marts.fct_conversations"] > 0
    if which == "published":
        assert {name.split(".")[0] for name in ours} == {"marts"}
    else:
        assert {"raw", "marts"} <= {name.split(".")[0] for name in ours}


@pytest.mark.parametrize("which", ["published", "warehouse"])
def test_yaml_descriptions_are_the_comments(
    which: str, sample_warehouse: Path, duckdb_11: Path
) -> None:
    path = published_path(sample_warehouse) if which == "published" else sample_warehouse
    seen = _read_with(duckdb_11, path)
    documented = _marts_yaml()

    # a few read by hand from the YAML (the start of each text)
    conversation = seen["table_comments"]["marts.fct_conversations"]
    assert conversation.startswith("One row per conversation: a connected component of the call ")
    assert seen["table_comments"]["marts.dim_agents"].startswith("One row per agent seen on any ")
    talk = seen["column_comments"]["marts.fct_conversations.talk_ms"]
    assert talk.startswith("Sum over its connected agent legs of ended_at - connected_at - hold")

    # and every mart, as documented in the YAML, word for word
    marts = [name.removeprefix("marts.") for name in seen["counts"] if name.startswith("marts.")]
    assert set(MARTS) <= set(marts)
    for model in marts:
        assert seen["table_comments"].get(f"marts.{model}") == documented[model]["description"]
        for column, text in documented[model]["columns"].items():
            assert seen["column_comments"].get(f"marts.{model}.{column}") == text, (model, column)


def test_a_warehouse_made_in_duckdb_2_format_is_converted_once(
    tmp_path: Path, duckdb_11: Path
) -> None:
    """A warehouse created before callmart pinned the format stays in DuckDB 2's (a format
    cannot be lowered in place); `python -m ingest.publish convert` rewrites its raw layer in
    DuckDB 1.1's, and the next build makes the rest again."""
    db = tmp_path / "old.duckdb"
    duckdb.connect(str(db)).close()  # DuckDB 2's own format, as callmart made it before
    sample = Path(ingest.__file__).parent / "sample"
    secret = str(sample / "jwt_secret.txt")
    landing = str(sample / "landing")
    assert main(["ingest", "--quiet", "--db", str(db), "--jwt-secret-file", secret, landing]) == 0
    with duckdb.connect(str(db)) as con:  # zstd, which DuckDB 1.1's format cannot hold
        con.execute("create table raw.old_payloads (payload varchar using compression zstd)")
        con.execute("insert into raw.old_payloads select 'p' || range from range(1000)")
        con.execute("create schema marts")
        con.execute("create table marts.built as select 1 as one")
    assert storage_version_number(db) > STORAGE_VERSION_NUMBER  # still DuckDB 2's
    before = {name: n for name, n in _our_counts(db).items() if name.startswith("raw.")}
    assert before["raw.dialpad_call_events"] > 0 and before["raw.old_payloads"] == 1000

    convert = [sys.executable, "-m", "ingest.publish", "convert", str(db)]
    done = subprocess.run(convert, capture_output=True, text=True, check=True)
    assert done.stdout == f"{db}: rewritten in the storage format of DuckDB v1.1.0\n"

    assert storage_version_number(db) == STORAGE_VERSION_NUMBER
    assert _read_with(duckdb_11, db)["counts"] == before  # the raw layer, whole; marts to rebuild
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".wal"))]
    again = subprocess.run(convert, capture_output=True, text=True, check=True)
    assert again.stdout == f"{db}: already in the storage format of DuckDB v1.1.0\n"
