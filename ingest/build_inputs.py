"""A build with nothing new to build (docs/performance.md, "A build with nothing new").

Every model but `marts.feed_health` is a function of three things: the raw event tables, the
project (its models, macros, seeds, tests and settings) and the versions of dbt and DuckDB
that run it. A build's *inputs* are a digest of the three: the files of the project, the
settings given (callmart.yml, `--vars`), those versions, and each raw table's row count and
latest `loaded_at` (the raw tables are only ever appended to, a load's rows all carry its
time, and no two loads interleave: ingest/warehouse.py).

After a build that succeeded whole (every model and data test ran; the build log says
`success`, macros/incremental.sql) and published its marts, callmart records its inputs in
`intermediate.build_inputs`, beside the build log. When the latest build recorded there was
made from the same inputs as the build about to start, the build runs `marts.feed_health`
and its tests alone: the other models would write what they hold. It publishes by replacing
feed_health in a copy of the published file, which holds the rest as the warehouse does
(ingest/publish.py). Everything else makes a whole build as before: a new load, an upgrade
of the project or of dbt/DuckDB, other settings, `--full-refresh`, a latest build that
failed, was killed or was not callmart's. DuckDB only: on Spark every build runs whole.

`marts.feed_health` is rebuilt every time because it reads more than the event tables (the
quarantine, the load log) and stamps `last_built_at`, which a monitor of the feed watches
(docs/contract.md §10).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from ingest.raw_tables import RAW_TABLES
from ingest.warehouse import has_table

# What dbt reads of the project, as setup.py's PROJECT (the files the wheel carries)
PROJECT_PATHS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")
# What runs the project: a release of any of them can change what a model writes
ENGINE = ("dbt-core", "dbt-duckdb", "duckdb")
RECORD = "intermediate.build_inputs"
# The model a build with nothing new runs (dbt's --select): it reads the quarantine and load log
ALWAYS_BUILT = "feed_health"


def build_inputs(
    con: duckdb.DuckDBPyConnection, project: Path, settings: dict[str, Any] | None
) -> str:
    """The digest of what a build of `project` with `settings` on `con`'s raw tables computes
    its models from."""
    digest = hashlib.sha256()
    for file in _project_files(project):
        digest.update(file.relative_to(project).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    digest.update(json.dumps(settings or {}, sort_keys=True, default=str).encode())
    for package in ENGINE:
        digest.update(f"\0{package}=={version(package)}".encode())
    for table in RAW_TABLES:
        stored = con.execute(f"select count(*), max(loaded_at) from {table.name}").fetchone()
        digest.update(f"\0{table.name}:{stored}".encode())
    return digest.hexdigest()


def _project_files(project: Path) -> Iterator[Path]:
    for name in PROJECT_PATHS:
        path = project / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(
                file
                for file in path.rglob("*")
                if file.is_file()
                and not any(
                    part.startswith(".") or part == "__pycache__"
                    for part in file.relative_to(path).parts
                )
            )


def nothing_new(con: duckdb.DuckDBPyConnection, inputs: str) -> bool:
    """Whether the latest build (in the build log) is one callmart recorded as made from
    `inputs`: then no model but feed_health would write anything new."""
    if not has_table(con, "intermediate", "build_log") or not has_table(con, *RECORD.split(".")):
        return False
    recorded = con.execute(
        f"""
        select record.inputs
        from (
            select invocation_id from intermediate.build_log order by started_at desc limit 1
        ) as latest
        inner join {RECORD} as record on latest.invocation_id = record.invocation_id
        """
    ).fetchall()
    return (inputs,) in recorded


def record(
    con: duckdb.DuckDBPyConnection, run_results: dict[str, Any], inputs: str, *, nothing_new: bool
) -> None:
    """Record `inputs` for the build `run_results` reports when it succeeded whole, or when it
    was a build with nothing new that succeeded (its feed_health and tests)."""
    invocation = str(run_results.get("metadata", {}).get("invocation_id", ""))
    if not has_table(con, "intermediate", "build_log"):
        return  # a dbt that wrote no build log (a stand-in for dbt in a test)
    statuses = con.execute(
        "select status from intermediate.build_log where invocation_id = ?", [invocation]
    ).fetchall()
    if ("success",) not in statuses and not (nothing_new and ("partial",) in statuses):
        return
    con.execute(f"create table if not exists {RECORD} (invocation_id varchar, inputs varchar)")
    con.execute(f"insert into {RECORD} values (?, ?)", [invocation, inputs])
