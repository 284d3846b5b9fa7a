"""The warehouse sink: staged chunks into DuckDB's raw tables, one transaction per load.

A load runs in two halves so that memory stays flat however big the files are:
1. Staging (`ingest.stage`): each file is cut into chunks, and each chunk is decoded and
   flattened to Parquet files in the load's staging folder beside the warehouse, on every
   core when the load is big. The warehouse is not written.
2. Commit (here): one transaction moves the staged rows in, with set-based SQL that DuckDB runs
   within its memory limit (spilling to disk if it must):
   - an event whose identity hash is already stored, or staged twice, is a duplicate; among
     copies the earliest envelope `received_at` is kept (then the first file and line);
   - a bad record goes to raw.quarantine once per (file, line, text);
   - a file that cannot be read whole (docs/contract.md §9) is one quarantine row, open until
     the path loads, and nothing of it is staged;
   - raw.load_log gets one row per file read (`ingest.sink.count_files`, as the lake counts).
A file whose content was loaded before is skipped, and so is a failed file whose content has
not changed; an uncompressed line file that grew is read from where the last load stopped
(its pending last line included). Killing the process mid-load leaves the warehouse as it was:
at worst a staging folder remains, and the next load deletes it.

`callmart quarantine retry` (`retry_quarantine`) is a load too: it stages the open quarantined
records again, with today's secrets, and the failed files that are still there, and commits
the same way, releasing what now loads.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.errors import FAILED_FILE_REASONS_SQL
from ingest.raw_tables import RAW_TABLES, RawTable
from ingest.sink import (
    LoadSummary,
    RetrySummary,
    RetryWork,
    count_files,
    create_retried,
    first_copies,
    loaded_paths,
    new_rows_sql,
    quarantine_rows_sql,
    quarantined_again_sql,
    staged_parquet,
    within_memory_limit,
)
from ingest.stage import QUARANTINE, History, Progress, StagedFile, load_time, stage_files


def staging_root(db_path: Path) -> Path:
    """Where loads into `db_path` stage their chunks: beside it, one folder per load."""
    return db_path.parent / f".{db_path.name}.staging"


def load_files(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    paths: Sequence[Path],
    decoder: Decoder,
    progress: Progress | None = None,
    workers: int | None = None,
) -> LoadSummary:
    """Load every file; the warehouse changes in one transaction at the end, or not at all.

    `con` is the open warehouse, held for writing (`ingest.warehouse.writing`).
    `workers` processes stage the chunks when the input is big (default: one per core).
    """
    summary = LoadSummary(load_id=uuid.uuid4().hex)
    with _staging_folder(db_path, summary.load_id) as folder:
        history = History.read(con, "raw.load_log", "raw.quarantine")
        staged = stage_files(history, paths, decoder, folder, progress, workers)
        _commit(con, staged, folder, summary)
        summary.note_unknown_keys(staged)
    return summary


class _staging_folder:
    """A load's staging folder beside the warehouse; what a killed load left is removed first."""

    def __init__(self, db_path: Path, load_id: str) -> None:
        self._root = staging_root(db_path)
        self._folder = self._root / load_id

    def __enter__(self) -> Path:
        shutil.rmtree(self._root, ignore_errors=True)
        self._folder.mkdir(parents=True)
        return self._folder

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self._root, ignore_errors=True)


def retry_quarantine(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    decoder: Decoder,
    reasons: Sequence[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
) -> RetrySummary:
    """Decode the open quarantine again with `decoder` (today's secrets and keys), and re-read
    the failed files still there; load what decodes now, one transaction (docs/contract.md §9)."""
    summary = RetrySummary(LoadSummary(load_id=uuid.uuid4().hex))
    work = RetryWork.read(con, "raw.quarantine", reasons)
    summary.missing_files = work.missing_files
    with _staging_folder(db_path, summary.load.load_id) as folder:
        history = History.read(con, "raw.load_log", "raw.quarantine")
        staged = work.stage(history, decoder, folder, progress, workers)
        _commit(con, staged, folder, summary.load, work.retried)
        summary.load.note_unknown_keys(staged)
    summary.settle()
    return summary


def _commit(
    con: duckdb.DuckDBPyConnection,
    staged: list[StagedFile],
    folder: Path,
    summary: LoadSummary,
    retried: Sequence[tuple[str, int, str]] = (),
) -> None:
    """Move the staged rows into the raw tables, record failed files, release what loaded and
    log every file, in one transaction. `retried`: the (file, line, hash) of quarantine rows a
    retry decoded again."""
    loaded_at = load_time()
    loaded: list[tuple[str, int]] = []
    quarantined: list[tuple[str, int]] = []
    within_memory_limit(con)
    con.begin()
    try:
        for table in RAW_TABLES:
            files = staged_parquet(folder / table.folder)
            if files is None:
                continue
            loaded += _insert_new(con, table, files, summary.load_id, loaded_at).items()
            _keep_earliest_received(con, table, files, summary.load_id, loaded_at)
        files = staged_parquet(folder / QUARANTINE)
        if retried:
            released, still = _release_retried(con, retried, files, summary.load_id, loaded_at)
            summary.released += released
            quarantined += still.items()  # quarantined again: their rows stand
        if files is not None:
            quarantined += _insert_quarantine(con, files, summary.load_id, loaded_at).items()
        count_files(con, summary, staged, loaded, quarantined)
        for file in staged:
            if file.failed_anew:
                _record_failure(con, file, summary.load_id, loaded_at)
        paths = loaded_paths(staged)
        summary.released += _release_failures(con, paths, summary.load_id, loaded_at)
        summary.quarantined_by_reason = dict(
            con.execute(
                "select reason, count(*) from raw.quarantine where load_id = ? "
                "and released_at is null group by reason",
                [summary.load_id],
            ).fetchall()
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise


def _insert_new(
    con: duckdb.DuckDBPyConnection, table: RawTable, files: str, load_id: str, loaded_at: datetime
) -> dict[str, int]:
    """Insert the events not stored yet; rows inserted per source file."""
    _rowcount(
        con,
        f"""
        insert into {table.name} by name
        select * exclude (file_index, copy_index), ? as load_id, ?::timestamp as loaded_at
        from ({new_rows_sql(table, files, table.name)})
        """,
        [load_id, loaded_at],
    )
    return _per_file(con, table.name, load_id, loaded_at)


def _keep_earliest_received(
    con: duckdb.DuckDBPyConnection, table: RawTable, files: str, load_id: str, loaded_at: datetime
) -> None:
    """docs/contract.md §3: among copies of an event, the earliest received_at is kept.

    Runs after `_insert_new`, whose rows already are their earliest copies.
    """
    kept = ("received_at", *table.kept_with_copy, "source_file", "source_line")
    assignments = ", ".join(f"{column} = copy.{column}" for column in kept)
    copies = first_copies(table, files, kept, "received_at is not null")
    _rowcount(
        con,
        f"""
        update {table.name} as stored
        set {assignments}, load_id = ?, loaded_at = ?
        from ({copies}) as copy
        where stored.{table.key} = copy.{table.key}
          and (stored.received_at is null or copy.received_at < stored.received_at)
        """,
        [load_id, loaded_at],
    )


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection, files: str, load_id: str, loaded_at: datetime
) -> dict[str, int]:
    """Quarantine bad records not quarantined before (same file, line and text)."""
    _rowcount(
        con,
        f"""
        insert into raw.quarantine by name
        select *, ? as load_id, ?::timestamp as loaded_at
        from ({quarantine_rows_sql(files)}) as new
        where not exists (
            select 1 from raw.quarantine as stored
            where stored.source_file = new.source_file
              and stored.source_line = new.source_line
              and stored.raw_hash = new.raw_hash
        )
        """,
        [load_id, loaded_at],
    )
    return _per_file(con, "raw.quarantine", load_id, loaded_at)


def _release_retried(
    con: duckdb.DuckDBPyConnection,
    retried: Sequence[tuple[str, int, str]],
    files: str | None,
    load_id: str,
    loaded_at: datetime,
) -> tuple[int, dict[str, int]]:
    """A retried row whose record was quarantined again keeps its row, with the new reason;
    every other retried row is released: what it held is loaded (or a duplicate of loaded
    data), or quarantined element by element under rows of its own.
    Returns (rows released, retried rows quarantined again per source file)."""
    create_retried(con, retried)
    again = quarantine_rows_sql(files) if files else (
        "select null::varchar as source_file, null::bigint as source_line, "
        "null::varchar as raw_hash, null::varchar as reason, null::varchar as detail where false"
    )  # fmt: skip
    _rowcount(
        con,
        f"""
        update raw.quarantine as stored
        set reason = again.reason, detail = again.detail
        from ({again}) as again
        where stored.source_file = again.source_file
          and stored.source_line = again.source_line
          and stored.raw_hash = again.raw_hash
          and stored.released_at is null
        """,
    )
    still = dict(con.execute(quarantined_again_sql(again)).fetchall())
    released = _rowcount(
        con,
        f"""
        update raw.quarantine as stored
        set released_at = ?, released_load_id = ?
        from (
            select source_file, source_line, raw_hash from retried
            except
            select source_file, source_line, raw_hash from ({again})
        ) as done
        where stored.source_file = done.source_file
          and stored.source_line = done.source_line
          and stored.raw_hash = done.raw_hash
          and stored.released_at is null
        """,
        [loaded_at, load_id],
    )
    return released, still


def _record_failure(
    con: duckdb.DuckDBPyConnection, file: StagedFile, load_id: str, loaded_at: datetime
) -> None:
    """A failed file is one quarantine row per path: the open one is updated to this failure,
    or a new one is added."""
    failure = file.failure
    assert failure is not None
    values = [str(failure.reason), failure.detail, file.sha256, file.size, load_id, loaded_at]
    updated = _rowcount(
        con,
        f"""
        update raw.quarantine
        set reason = ?, detail = ?, raw_hash = ?, file_bytes = ?, load_id = ?, loaded_at = ?
        where source_file = ? and reason in ({FAILED_FILE_REASONS_SQL}) and released_at is null
        """,
        [*values, file.path],
    )
    if not updated:
        con.execute(
            """
            insert into raw.quarantine (
                source_file, source_line, raw_text, reason, detail, raw_hash, file_bytes,
                load_id, loaded_at
            ) values (?, 0, '', ?, ?, ?, ?, ?, ?)
            """,
            [file.path, *values],
        )


def _release_failures(
    con: duckdb.DuckDBPyConnection, paths: Iterable[str], load_id: str, loaded_at: datetime
) -> int:
    """The open failed-file rows of paths whose content is now loaded are released."""
    released = 0
    for path in paths:
        released += _rowcount(
            con,
            f"""
            update raw.quarantine set released_at = ?, released_load_id = ?
            where source_file = ? and reason in ({FAILED_FILE_REASONS_SQL}) and released_at is null
            """,
            [loaded_at, load_id, path],
        )
    return released


def _per_file(
    con: duckdb.DuckDBPyConnection, table: str, load_id: str, loaded_at: datetime
) -> dict[str, int]:
    """Rows this load inserted into `table`, per source file (zone maps skip older rows)."""
    return dict(
        con.execute(
            f"select source_file, count(*) from {table} "
            "where loaded_at = ? and load_id = ? group by source_file",
            [loaded_at, load_id],
        ).fetchall()
    )


def _rowcount(
    con: duckdb.DuckDBPyConnection, statement: str, parameters: list[object] | None = None
) -> int:
    """Run a statement to completion; for an insert or update, the rows it changed."""
    rows = con.execute(statement, parameters or []).fetchall()
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0
