"""The raw layer as Parquet files in a folder (a lake), for engines that read one, such as Spark.

`callmart ingest --to-parquet DIR` stages files exactly as a warehouse load does, then writes
the rows instead of committing them: one Parquet file per load and partition, under

    DIR/dialpad_call_events/event_date=YYYY-MM-DD/<load id>_<uuid>.parquet
    DIR/dialpad_agent_status_events/event_date=.../...
    DIR/messagebird_calls/event_date=.../...    DIR/messagebird_legs/event_date=.../...
    DIR/quarantine/load_date=.../...             DIR/load_log/load_date=.../...
    DIR/quarantine_releases/load_date=.../...

with the raw tables' own columns and types (`ingest/raw_tables.py`). Many ingest
processes, one per landing file and machine, may write into one lake without coordinating.
Each load keeps one copy per event of its own records (the earliest received); copies across
loads, and the earliest `received_at` among them, are resolved by the dbt staging models, on
whichever engine reads the lake.

A lake load follows the warehouse's rules for what it reads (docs/contract.md §9): it reads the
lake's own load log first, so a file loaded before is skipped and a grown file resumed, an
unfinished last line waits, a failed file is one quarantine row. Parquet files are never
rewritten, so the quarantine's releases are rows of their own (`quarantine_releases`: file,
line, hash, when, by which load); a row is open while no release names it. `callmart
quarantine retry --lake DIR` decodes the open rows again. Two loads of the same new file at
the same moment both read it (they do not coordinate): its events are then copies, which
staging resolves, and its bad records two quarantine rows.

Readers never see half a file: a load writes into `DIR/.<load id>/` (Spark, like Hive and
most lake readers, skips names that start with `.` or `_`), then renames each finished file
into its partition folder, an atomic step on one file system.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.errors import FAILED_FILE_REASONS_SQL
from ingest.raw_tables import RAW_TABLES, ddl
from ingest.sink import (
    LoadSummary,
    RetrySummary,
    RetryWork,
    count_files,
    create_retried,
    file_list,
    loaded_paths,
    new_rows_sql,
    quarantine_rows_sql,
    quarantined_again_sql,
    quoted,
    staged_parquet,
    within_memory_limit,
)
from ingest.stage import QUARANTINE, History, Progress, StagedFile, load_time, stage_files

# The partition date of each raw table's rows: when the event happened, as near as known.
_EVENT_DATE = {
    "raw.dialpad_call_events": "cast(event_at as date)",
    "raw.dialpad_agent_status_events": "cast(event_at as date)",
    "raw.messagebird_calls": "cast(coalesce(updated_at, created_at, loaded_at) as date)",
    "raw.messagebird_legs": "cast(coalesce(updated_at, created_at, loaded_at) as date)",
}
# A partitioned write holds each open file's row group until it is full, and flushes a thread's
# rows of every partition every 524,288 rows by default (half a million ~1 KB payloads): row
# groups of 16 MB and a flush every 32,768 rows keep a load of 1M events within a 1 GB limit, and
# faster than DuckDB's defaults without one (measured 2026-12-04: 6 s at 1.1 GB, against 7 s at
# 3.6 GB)
_ROW_GROUP_BYTES = "16MB"
_FLUSH_ROWS = 32_768
_BY_LOAD_DATE = ("raw.quarantine", "raw.load_log", "raw.quarantine_releases")
# the release columns of raw.quarantine live in quarantine_releases in a lake
_RELEASE_COLUMNS = ("released_at", "released_load_id")
_RELEASES_DDL = """
    create table if not exists raw.quarantine_releases (
        source_file varchar not null,
        source_line bigint not null,
        raw_hash varchar not null,
        released_at timestamp not null,
        released_load_id varchar not null
    )
"""


def export_files(
    paths: Sequence[Path],
    decoder: Decoder,
    lake: Path,
    progress: Progress | None = None,
    workers: int | None = None,
) -> LoadSummary:
    """Stage `paths` and write their raw rows as Parquet under `lake`."""
    summary = LoadSummary(load_id=uuid.uuid4().hex)
    lake.mkdir(parents=True, exist_ok=True)
    with _LakeLoad(lake, summary) as load:
        history = History.read(load.con, load.relation("load_log"), load.open_quarantine())
        staged = stage_files(history, paths, decoder, load.staging, progress, workers)
        load.write(staged)
    summary.note_unknown_keys(staged)
    return summary


def retry_lake_quarantine(
    lake: Path,
    decoder: Decoder,
    reasons: Sequence[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
) -> RetrySummary:
    """`callmart quarantine retry` for a lake: the open rows decoded again, the failed files
    still there re-read; what loads is written, and its rows released."""
    if not lake.is_dir():
        raise FileNotFoundError(lake)
    summary = RetrySummary(LoadSummary(load_id=uuid.uuid4().hex))
    with _LakeLoad(lake, summary.load) as load:
        quarantine = load.open_quarantine()
        todo = RetryWork.read(load.con, quarantine, reasons)
        summary.missing_files = todo.missing_files
        history = History.read(load.con, load.relation("load_log"), quarantine)
        staged = todo.stage(history, decoder, load.staging, progress, workers)
        load.write(staged, todo.retried)
    summary.load.note_unknown_keys(staged)
    summary.settle()
    return summary


class _LakeLoad:
    """One load into a lake: an in-memory DuckDB with the raw tables' DDL, a staging folder,
    and the pending folder whose finished files are renamed into the lake at the end."""

    def __init__(self, lake: Path, summary: LoadSummary) -> None:
        self.lake = lake
        self.summary = summary
        self.pending = lake / f".{summary.load_id}"
        self._temporary = tempfile.TemporaryDirectory(prefix="callmart-stage-")
        self.staging = Path(self._temporary.name)
        self.con = duckdb.connect()
        self.loaded_at = load_time()

    def __enter__(self) -> _LakeLoad:
        self.con.execute("set TimeZone = 'UTC'")
        within_memory_limit(self.con, spill=self.staging / "spill")
        self.con.execute(f"set partitioned_write_flush_threshold = {_FLUSH_ROWS}")  # see above
        self.con.execute(ddl())
        self.con.execute(_RELEASES_DDL)
        self.pending.mkdir()
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        try:
            if kind is None:
                _move_into(self.pending, self.lake)
        finally:
            self.con.close()
            shutil.rmtree(self.pending, ignore_errors=True)
            self._temporary.cleanup()

    def relation(self, table: str) -> str:
        """The lake's Parquet files of `table` with the raw table's columns (NULL where older
        files lack one); an empty relation of them when the lake has none yet."""
        columns = self._columns(f"raw.{table}")
        files = sorted((self.lake / table).rglob("*.parquet"))
        if not files:
            typed = ", ".join(f"null::{kind} as {name}" for name, kind in columns)
            return f"(select {typed} where false)"
        present = {
            name
            for (name,) in self.con.execute(
                f"select name from parquet_schema({file_list(files)})"
            ).fetchall()
        }
        typed = ", ".join(
            f"cast({name} as {kind}) as {name}" if name in present else f"null::{kind} as {name}"
            for name, kind in columns
        )
        return f"(select {typed} from read_parquet({file_list(files)}, union_by_name = true))"

    def open_quarantine(self) -> str:
        """The lake's quarantine with its releases: raw.quarantine's columns."""
        rows = self.relation("quarantine")
        releases = self.relation("quarantine_releases")
        return f"""(
            select q.* exclude ({", ".join(_RELEASE_COLUMNS)}),
                   r.released_at, r.released_load_id
            from {rows} as q
            left join (
                select source_file, source_line, raw_hash,
                       min(released_at) as released_at, min(released_load_id) as released_load_id
                from {releases}
                group by source_file, source_line, raw_hash
            ) as r using (source_file, source_line, raw_hash)
        )"""

    def _columns(self, table: str) -> list[tuple[str, str]]:
        schema, name = table.split(".")
        return self.con.execute(
            "select column_name, data_type from duckdb_columns() "
            "where schema_name = ? and table_name = ? order by column_index",
            [schema, name],
        ).fetchall()

    def write(self, staged: list[StagedFile], retried: Sequence[tuple[str, int, str]] = ()) -> None:
        """Every staged row, failed file, release and load-log row of the load, as Parquet."""
        con, summary = self.con, self.summary
        loaded: list[tuple[str, int]] = []
        quarantined: list[tuple[str, int]] = []
        lineage = f"'{summary.load_id}' as load_id, timestamp '{self.loaded_at}' as loaded_at"
        for table in RAW_TABLES:
            files = staged_parquet(self.staging / table.folder)
            if files is None:
                # no rows: an empty file still gives readers the table's schema (Spark cannot
                # read a table folder that does not exist)
                self._copy(table.name, f"select * from {table.name} where false", empty=True)
                continue
            rows = f"select *, {lineage} from ({new_rows_sql(table, files, stored=None)})"
            self._copy(table.name, rows)
            loaded += _count_by_file(con, rows)
        files = staged_parquet(self.staging / QUARANTINE)
        again = quarantine_rows_sql(files) if files else None
        create_retried(con, retried)
        stored = self.open_quarantine()
        con.execute(
            "create or replace temp table new_quarantine as "
            "select * from raw.quarantine where false"
        )
        if again is not None:
            # a record quarantined before (same file, line and text) is not quarantined twice
            con.execute(
                f"""
                insert into new_quarantine by name
                select *, {lineage} from ({again}) as new
                where not exists (
                    select 1 from {stored} as old
                    where old.source_file = new.source_file
                      and old.source_line = new.source_line and old.raw_hash = new.raw_hash
                )
                """
            )
            quarantined += _count_by_file(con, "select * from new_quarantine")
            # quarantined again: their rows stand
            quarantined += con.execute(quarantined_again_sql(again)).fetchall()
        count_files(con, summary, staged, loaded, quarantined)
        for file in staged:
            failure = file.failure
            if failure is not None and file.failed_anew and not file.failure_is_open:
                con.execute(
                    """
                    insert into new_quarantine by name
                    select ? as source_file, 0 as source_line, '' as raw_text,
                           ? as reason, ? as detail, ? as raw_hash, ? as file_bytes,
                           ? as load_id, ?::timestamp as loaded_at
                    """,
                    [file.path, str(failure.reason), failure.detail, file.sha256,
                     file.size, summary.load_id, self.loaded_at],
                )  # fmt: skip
        # releases: retried rows not quarantined again; the open failed-file rows of paths
        # that loaded, or that failed anew (one open row per path)
        refailed = [f.path for f in staged if f.failure and not f.failure_is_open]
        settled = loaded_paths(staged) + refailed
        con.execute("create or replace temp table settled_paths (path varchar)")
        if settled:
            con.executemany("insert into settled_paths values (?)", [[p] for p in settled])
        quarantined_again = (
            f"select source_file, source_line, raw_hash from ({again})" if again else
            "select null::varchar, null::bigint, null::varchar where false"
        )  # fmt: skip
        releases = f"""
            select source_file, source_line, raw_hash,
                   timestamp '{self.loaded_at}' as released_at,
                   '{summary.load_id}' as released_load_id
            from (
                (select * from retried except {quarantined_again})
                union
                select source_file, source_line, raw_hash from {stored}
                where released_at is null and reason in ({FAILED_FILE_REASONS_SQL})
                  and source_file in (select path from settled_paths)
            )
        """
        summary.released = _count(con, releases)
        self._copy("raw.quarantine_releases", releases, empty=summary.released == 0)
        quarantined_rows = _count(con, "select * from new_quarantine")
        self._copy("raw.quarantine", "select * from new_quarantine", empty=quarantined_rows == 0)
        summary.quarantined_by_reason = dict(
            con.execute("select reason, count(*) from new_quarantine group by reason").fetchall()
        )
        logged = _count(con, "select * from raw.load_log")
        self._copy("raw.load_log", "select * from raw.load_log", empty=logged == 0)

    def _copy(self, table: str, rows: str, empty: bool = False) -> None:
        """`rows` with exactly `table`'s columns and types into the lake, partitioned by date;
        `empty`: a file of no rows, which gives readers the table's columns (a partitioned
        COPY of no rows writes no file)."""
        columns = [
            (name, kind) for name, kind in self._columns(table)
            if not (table == "raw.quarantine" and name in _RELEASE_COLUMNS)
        ]  # fmt: skip
        typed = ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns)
        folder = self.pending / table.removeprefix("raw.")
        load_id = self.summary.load_id
        if empty:
            partition = "load_date" if table in _BY_LOAD_DATE else "event_date"
            file = folder / f"{partition}={self.loaded_at.date()}" / f"{load_id}_empty.parquet"
            file.parent.mkdir(parents=True, exist_ok=True)
            self.con.execute(
                f"copy (select {typed} from ({rows}) where false) to '{quoted(file)}' "
                "(format parquet)"
            ).fetchall()
            return
        if table in _BY_LOAD_DATE:
            partition, date = "load_date", f"date '{self.loaded_at.date()}'"
        else:
            partition, date = "event_date", _EVENT_DATE[table]
        self.con.execute(
            f"""
            copy (select {typed}, {date} as {partition} from ({rows}))
            to '{quoted(folder)}' (
                format parquet, partition_by ({partition}), append,
                filename_pattern '{load_id}_{{uuid}}', row_group_size_bytes '{_ROW_GROUP_BYTES}'
            )
            """
        ).fetchall()


def _move_into(pending: Path, lake: Path) -> None:
    """Every finished file under `pending` renamed to the same place under `lake`."""
    for file in sorted(pending.rglob("*.parquet")):
        target = lake / file.relative_to(pending)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)


def _count(con: duckdb.DuckDBPyConnection, rows: str) -> int:
    found = con.execute(f"select count(*) from ({rows})").fetchone()
    return int(found[0]) if found else 0


def _count_by_file(con: duckdb.DuckDBPyConnection, rows: str) -> list[tuple[str, int]]:
    return con.execute(f"select source_file, count(*) from ({rows}) group by 1").fetchall()
