"""What a build runs: the models whose inputs changed since the last build
(docs/performance.md, "A build runs what changed").

Every model but `marts.feed_health` is a function of three things: the raw event tables it
reads (through dbt's lineage: its sources), the project (its models, macros, seeds, tests and
settings) and the versions of dbt and DuckDB that run it. A build's *inputs* are the digest of
the last two (`BuildInputs.project`: the files of the project, the settings given,
callmart.yml and `--vars`, those versions) and each raw table's state (`BuildInputs.raw_tables`:
its row count and latest `loaded_at`; the raw tables are only ever appended to, a load's rows
all carry its time, a copy received earlier rewrites its event with the new load's time, and no
two loads interleave: ingest/warehouse.py).

After a build that succeeded (every model and data test dbt ran passed or warned; the build
log says `success`, macros/incremental.sql) and published its marts, callmart records its
inputs in `intermediate.recorded_builds`, beside the build log (until 2026-12-04,
`intermediate.build_inputs` held one digest of everything; it is no longer read, so a warehouse
recorded then makes one whole build). When the latest build recorded
there was made from the same project as the build about to start, the build runs (dbt's
`--select`, `selection`):
- the models downstream of the raw tables that changed since (`source:<table>+`), with their
  data tests;
- every table model: the change sets, which name the keys loaded since the last successful
  build and so move with the build log, and the aggregates, rebuilt whole anyway;
- `marts.feed_health`, which reads more than the event tables (the quarantine, the load log)
  and stamps `last_built_at`, which a monitor of the feed watches (docs/contract.md §10).
The incremental models and views no changed table feeds would write what they hold (their
change sets are empty), and the seeds are the project's, unchanged: they are left as they are.
A Dialpad-only feed never runs MessageBird's models, and a build after a load of call events
alone skips the agent status staging. Since the models left out hold what a build would write,
such a build counts as a successful one (`record` marks it so in the build log), and the next
one reads "new" from it.

When no raw table changed either (*nothing new*), the build runs `marts.feed_health` alone and
publishes it into a copy of the published file, which holds the rest as the warehouse does
(ingest/publish.py). Everything else makes a whole build as before: an upgrade of the project
or of dbt/DuckDB, other settings, `--full-refresh`, a latest build that failed, was killed or
was not callmart's. DuckDB only: on Spark every build runs whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb

from ingest.raw_tables import RAW_TABLES, RawTable
from ingest.warehouse import has_table

# What dbt reads of the project, as setup.py's PROJECT (the files the wheel carries)
PROJECT_PATHS = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")
# What runs the project: a release of any of them can change what a model writes
ENGINE = ("dbt-core", "dbt-duckdb", "duckdb")
RECORD = "intermediate.recorded_builds"
# The model every build runs: it reads the quarantine and the load log, and stamps the build
ALWAYS_BUILT = "feed_health"
# What a build that runs what changed runs besides the models of the changed raw tables (above)
ALWAYS_SELECTED = (ALWAYS_BUILT, "config.materialized:table")


@dataclass(frozen=True)
class BuildInputs:
    """What a build computes its models from."""

    project: str  # digest of the project's files, the settings and the engine's versions
    raw_tables: dict[str, str]  # each raw table's row count and latest loaded_at

    def changed_since(self, recorded: dict[str, str]) -> list[RawTable]:
        """The raw tables whose rows changed since a build that saw them as `recorded` (its
        `raw_tables`)."""
        return [
            table
            for table in RAW_TABLES
            if self.raw_tables.get(table.name) != recorded.get(table.name)
        ]


def build_inputs(
    con: duckdb.DuckDBPyConnection, project: Path, settings: dict[str, Any] | None
) -> BuildInputs:
    """What a build of `project` with `settings` on `con`'s raw tables computes its models
    from."""
    digest = hashlib.sha256()
    for file in _project_files(project):
        digest.update(file.relative_to(project).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    digest.update(json.dumps(settings or {}, sort_keys=True, default=str).encode())
    for package in ENGINE:
        digest.update(f"\0{package}=={version(package)}".encode())
    raw_tables = {}
    for table in RAW_TABLES:
        stored = con.execute(f"select count(*), max(loaded_at) from {table.name}").fetchone()
        raw_tables[table.name] = str(stored)  # (row count, latest loaded_at)
    return BuildInputs(digest.hexdigest(), raw_tables)


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


def changed_tables(con: duckdb.DuckDBPyConnection, inputs: BuildInputs) -> list[RawTable] | None:
    """The raw tables whose rows changed since the latest build (in the build log), when that
    build is one callmart recorded as made from the same project (an empty list: nothing new);
    None when the build must run whole."""
    if not has_table(con, "intermediate", "build_log") or not has_table(con, *RECORD.split(".")):
        return None
    recorded = con.execute(
        f"""
        select record.raw_tables
        from (
            select invocation_id from intermediate.build_log order by started_at desc limit 1
        ) as latest
        inner join {RECORD} as record on latest.invocation_id = record.invocation_id
        where record.project = ?
        """,
        [inputs.project],
    ).fetchall()
    if not recorded:
        return None
    return inputs.changed_since(json.loads(recorded[0][0]))


def selection(changed: list[RawTable]) -> list[str]:
    """dbt's `--select` for a build after `changed` were loaded (none: feed_health alone)."""
    if not changed:
        return [ALWAYS_BUILT]
    return [*ALWAYS_SELECTED, *(f"{table.dbt_source}+" for table in changed)]


def record(
    con: duckdb.DuckDBPyConnection,
    run_results: dict[str, Any],
    inputs: BuildInputs,
    *,
    selected: bool,
) -> None:
    """Record `inputs` for the build `run_results` reports when it succeeded whole, or when
    callmart `selected` what it ran (`selection`) and every node it ran succeeded: the build
    log's on-run-end hook calls that build `partial` (models did not run), and here it becomes
    the `success` it is, which the next build reads "new" from."""
    invocation = str(run_results.get("metadata", {}).get("invocation_id", ""))
    if not has_table(con, "intermediate", "build_log"):
        return  # a dbt that wrote no build log (a stand-in for dbt in a test)
    statuses = con.execute(
        "select status from intermediate.build_log where invocation_id = ?", [invocation]
    ).fetchall()
    if ("success",) not in statuses:
        if not (selected and ("partial",) in statuses):
            return
        con.execute(
            """
            insert into intermediate.build_log by name
            select * replace ('success' as status)
            from intermediate.build_log
            where invocation_id = ? and status = 'partial'
            """,
            [invocation],
        )
    con.execute(
        f"create table if not exists {RECORD} "
        "(invocation_id varchar, project varchar, raw_tables varchar)"
    )
    con.execute(
        f"insert into {RECORD} (invocation_id, project, raw_tables) values (?, ?, ?)",
        [invocation, inputs.project, json.dumps(inputs.raw_tables, sort_keys=True)],
    )
