"""The raw layer as Parquet files in a folder (a lake), for engines that read one, such as Spark.

`callmart ingest --to-parquet DIR` stages files exactly as a warehouse load does, then writes
the rows instead of committing them: one Parquet file per load and partition, under

    DIR/dialpad_call_events/event_date=YYYY-MM-DD/<load id>_<uuid>.parquet
    DIR/messagebird_calls/event_date=.../...    DIR/messagebird_legs/event_date=.../...
    DIR/quarantine/load_date=.../...             DIR/load_log/load_date=.../...

with the raw tables' own columns and types (`ingest/sql/raw_tables.sql`). Loads share no
state: many ingest processes, one per landing file and machine, write into one lake without
coordinating. Each load keeps one copy per event of its own records (the earliest received);
copies across loads, and the earliest `received_at` among them, are resolved by the dbt
staging models, on whichever engine reads the lake. A lake load never skips a file it saw
before: it has no memory of other loads, and duplicates cost only space.

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
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.load import (
    FileSummary,
    LoadSummary,
    Progress,
    StagedFile,
    log_file,
    new_rows_sql,
    stage_files,
    staged_parquet,
)
from ingest.stage import QUARANTINE, RAW_TABLES

# The partition date of each raw table's rows: when the event happened, as near as known.
_EVENT_DATE = {
    "raw.dialpad_call_events": "cast(event_at as date)",
    "raw.messagebird_calls": "cast(coalesce(updated_at, created_at, loaded_at) as date)",
    "raw.messagebird_legs": "cast(coalesce(updated_at, created_at, loaded_at) as date)",
}


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
    with tempfile.TemporaryDirectory(prefix="callmart-stage-") as folder:
        staged = stage_files(None, paths, decoder, Path(folder), progress, workers)
        pending = lake / f".{summary.load_id}"
        pending.mkdir()
        con = duckdb.connect()
        try:
            con.execute("set TimeZone = 'UTC'")
            con.execute(resources.files("ingest").joinpath("sql/raw_tables.sql").read_text())
            _write(con, staged, Path(folder), pending, summary)
            _move_into(pending, lake)
        finally:
            con.close()
            shutil.rmtree(pending, ignore_errors=True)
    summary.note_unknown_keys(staged)
    return summary


def _write(
    con: duckdb.DuckDBPyConnection,
    staged: list[StagedFile],
    folder: Path,
    lake: Path,
    summary: LoadSummary,
) -> None:
    loaded_at = datetime.now(UTC).replace(tzinfo=None)
    counts = {f.path: FileSummary(f.path, read=f.staged.read) for f in staged}
    lineage = f"'{summary.load_id}' as load_id, timestamp '{loaded_at}' as loaded_at"
    for table in RAW_TABLES.values():
        files = staged_parquet(folder / table.folder)
        if files is None:
            # no rows: an empty file still gives readers the table's schema (Spark cannot
            # read a table folder that does not exist)
            _copy_empty(con, table.name, loaded_at.date().isoformat(), lake, summary.load_id)
            continue
        rows = f"select *, {lineage} from ({new_rows_sql(table, files, stored=None)})"
        _copy(con, table.name, rows, _EVENT_DATE[table.name], lake, summary.load_id)
        for source_file, count in _count_by_file(con, rows):
            counts[source_file].loaded += count
    files = staged_parquet(folder / QUARANTINE)
    if files is not None:
        rows = f"select *, sha256(raw_text) as raw_hash, {lineage} from {files}"
        _copy(con, "raw.quarantine", rows, "cast(loaded_at as date)", lake, summary.load_id)
        for source_file, count in _count_by_file(con, rows):
            counts[source_file].quarantined += count
        summary.quarantined_by_reason = dict(
            con.execute(f"select reason, count(*) from ({rows}) group by reason").fetchall()
        )
    for file in staged:
        result = counts[file.path]
        result.duplicates = result.read - result.loaded - result.quarantined
        summary.files.append(result)
        log_file(con, file, result, summary.load_id)
    _copy(con, "raw.load_log", "select * from raw.load_log", "cast(started_at as date)", lake,
          summary.load_id)  # fmt: skip


def _move_into(pending: Path, lake: Path) -> None:
    """Every finished file under `pending` renamed to the same place under `lake`."""
    for file in sorted(pending.rglob("*.parquet")):
        target = lake / file.relative_to(pending)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(file, target)


def _typed_columns(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The select list that gives rows exactly `table`'s columns and types."""
    columns = con.execute(
        "select column_name, data_type from duckdb_columns() "
        "where schema_name = 'raw' and table_name = ? order by column_index",
        [table.removeprefix("raw.")],
    ).fetchall()
    return ", ".join(f"cast({name} as {kind}) as {name}" for name, kind in columns)


def _copy_empty(
    con: duckdb.DuckDBPyConnection, table: str, date: str, lake: Path, load_id: str
) -> None:
    """A Parquet file of no rows with `table`'s columns in the partition of `date` (a
    partitioned COPY of no rows writes no file)."""
    file = lake / table.removeprefix("raw.") / f"event_date={date}" / f"{load_id}_empty.parquet"
    file.parent.mkdir(parents=True)
    target = str(file).replace("'", "''")
    con.execute(
        f"copy (select {_typed_columns(con, table)} from {table} where false) "
        f"to '{target}' (format parquet)"
    ).fetchall()


def _copy(
    con: duckdb.DuckDBPyConnection, table: str, rows: str, date: str, lake: Path, load_id: str
) -> None:
    """`rows` with exactly `table`'s columns and types, partitioned by `date`, into the lake."""
    typed = _typed_columns(con, table)
    partition = "load_date" if table in ("raw.quarantine", "raw.load_log") else "event_date"
    target = str(lake / table.removeprefix("raw.")).replace("'", "''")
    con.execute(
        f"""
        copy (select {typed}, {date} as {partition} from ({rows}))
        to '{target}' (
            format parquet, partition_by ({partition}), append,
            filename_pattern '{load_id}_{{uuid}}'
        )
        """
    ).fetchall()


def _count_by_file(con: duckdb.DuckDBPyConnection, rows: str) -> list[tuple[str, int]]:
    return con.execute(f"select source_file, count(*) from ({rows}) group by 1").fetchall()
