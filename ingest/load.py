"""DuckDB writes: the raw tables, dedupe, quarantine and the load log, one transaction per load.

A load runs in two halves so that memory stays flat however big the files are:
1. Staging: each file is cut into chunks, and each chunk is decoded and flattened to Parquet
   files in the load's staging folder (`ingest.stage`), on every core when the load is big.
   The warehouse is not written.
2. Commit: one transaction moves the staged rows in, with set-based SQL that DuckDB runs
   within its memory limit (spilling to disk if it must):
   - an event whose identity hash is already stored, or staged twice, is a duplicate; among
     copies the earliest envelope `received_at` is kept (then the first file and line);
   - a bad record goes to raw.quarantine once per (file, line, text);
   - raw.load_log gets one row per file.
A file whose content was loaded before is skipped; an uncompressed line file that grew (its
old content is a prefix of the new) is read from where the last load stopped. Killing the
process mid-load leaves the warehouse as it was: at worst a staging folder remains, and the
next load deletes it.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.read import fingerprint, is_gzip, is_json_document, read_chunks
from ingest.stage import (
    QUARANTINE,
    RAW_TABLES,
    ChunkJob,
    RawTable,
    Staged,
    Stager,
    stage_in_worker,
    start_worker,
)

# Below this much input a load stages in its own process: starting workers costs about a second.
PARALLEL_MIN_BYTES = 64 << 20
MEMORY_LIMIT = os.environ.get("CALLMART_MEMORY_LIMIT", "1GB")

Progress = Callable[[int], None]  # called with the bytes of input consumed since the last call


@dataclass
class FileSummary:
    path: str
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    skipped: bool = False


@dataclass
class LoadSummary:
    load_id: str
    files: list[FileSummary] = field(default_factory=list)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    unknown_keys: dict[str, int] = field(default_factory=dict)  # payload keys no column holds

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    def note_unknown_keys(self, staged: Sequence[StagedFile]) -> None:
        unknown: Counter[str] = Counter()
        for file in staged:
            unknown.update(file.staged.unknown_keys)
        self.unknown_keys = dict(unknown.most_common())


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse and make sure the raw tables exist."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    con.execute("set TimeZone = 'UTC'")
    con.execute(resources.files("ingest").joinpath("sql/raw_tables.sql").read_text())
    return con


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

    `con` is the open warehouse (its write lock makes this the only load into `db_path`).
    `workers` processes stage the chunks when the input is big (default: one per core).
    """
    summary = LoadSummary(load_id=uuid.uuid4().hex)
    root = staging_root(db_path)
    shutil.rmtree(root, ignore_errors=True)  # what a killed load left behind
    folder = root / summary.load_id
    folder.mkdir(parents=True)
    try:
        staged = stage_files(con, paths, decoder, folder, progress, workers)
        _commit(con, staged, folder, summary)
        summary.note_unknown_keys(staged)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return summary


@dataclass
class StagedFile:
    """A file as staged: what the load log needs, and the records its chunks read."""

    path: str
    sha256: str
    size: int
    start_offset: int
    end_line: int
    started_at: datetime
    staged: Staged = field(default_factory=Staged)
    skipped: bool = False
    finished_at: datetime | None = None


@dataclass(frozen=True)
class _Previous:
    sha256: str
    size: int
    end_line: int


def _previous_load(con: duckdb.DuckDBPyConnection, path: str) -> _Previous | None:
    rows = con.execute(
        """
        select file_sha256, file_bytes, end_line from raw.load_log
        where path = ? order by finished_at desc limit 1
        """,
        [path],
    ).fetchall()
    return _Previous(*rows[0]) if rows else None


def stage_files(
    con: duckdb.DuckDBPyConnection | None,
    paths: Sequence[Path],
    decoder: Decoder,
    folder: Path,
    progress: Progress | None,
    workers: int | None,
) -> list[StagedFile]:
    """Stage every chunk of every file into `folder`, a few chunks in flight at a time.

    With the warehouse `con`, files loaded before are skipped and grown files resumed.
    """
    workers = workers or os.cpu_count() or 1
    parallel = workers > 1 and sum(p.stat().st_size for p in paths) >= PARALLEL_MIN_BYTES
    staged: list[StagedFile] = []
    with _stagers(decoder, workers if parallel else 1) as submit:
        pending: list[tuple[Future[Staged], StagedFile, int]] = []

        def settle(keep: int) -> None:
            while len(pending) > keep:
                future, file, advanced = pending.pop(0)
                file.staged.add(future.result())
                file.finished_at = _now()
                if progress:
                    progress(advanced)

        for file_index, path in enumerate(paths):
            file = _plan_file(con, path)
            staged.append(file)
            if file.skipped:
                if progress:
                    progress(file.size)
                continue
            if progress and file.start_offset:
                progress(file.start_offset)
            consumed = file.start_offset
            for number, chunk in enumerate(read_chunks(path, file.start_offset, file.end_line)):
                name = f"{file_index:06d}-{number:06d}"
                job = ChunkJob(chunk, file_index, file.path, folder, name)
                pending.append((submit(job), file, chunk.end_offset - consumed))
                consumed = chunk.end_offset
                file.end_line = chunk.end_line
                settle(keep=2 * workers)  # bounded: memory stays flat
            file.finished_at = _now()
        settle(keep=0)
    return staged


def _plan_file(con: duckdb.DuckDBPyConnection | None, path: Path) -> StagedFile:
    """What of `path` this load reads: nothing (unchanged), its grown tail, or all of it."""
    started_at = _now()
    source = str(path)
    previous = _previous_load(con, source) if con is not None else None
    print_ = fingerprint(path, previous.size if previous else None)
    file = StagedFile(source, print_.sha256, print_.size, 0, 0, started_at)
    if previous and previous.sha256 == print_.sha256:
        file.skipped = True
        return file
    resumable = not is_gzip(path) and not is_json_document(path)
    if previous and resumable and print_.prefix_sha256 == previous.sha256:
        file.start_offset, file.end_line = previous.size, previous.end_line
    return file


class _stagers:
    """A context giving `submit(job) -> Future[Staged]`: worker processes, or this one."""

    def __init__(self, decoder: Decoder, workers: int) -> None:
        self._decoder = decoder
        self._workers = workers
        self._pool: Executor | None = None
        self._stager: Stager | None = None
        self._polars_threads: str | None = None

    def __enter__(self) -> Callable[[ChunkJob], Future[Staged]]:
        if self._workers > 1:
            # each worker is one core's worth: polars must not start a thread per core in each
            # (workers start as jobs arrive, so the setting stays until the pool is shut down)
            self._polars_threads = os.environ.get("POLARS_MAX_THREADS")
            os.environ["POLARS_MAX_THREADS"] = "1"
            self._pool = ProcessPoolExecutor(
                self._workers,
                mp_context=multiprocessing.get_context("spawn"),  # no fork of DuckDB's threads
                initializer=start_worker,
                initargs=(self._decoder,),
            )
            return lambda job: self._pool.submit(stage_in_worker, job)  # type: ignore[union-attr]
        self._stager = Stager(self._decoder)
        return self._run_here

    def _run_here(self, job: ChunkJob) -> Future[Staged]:
        future: Future[Staged] = Future()
        future.set_result(self._stager.stage(job))  # type: ignore[union-attr]
        return future

    def __exit__(self, *_: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            if self._polars_threads is None:
                os.environ.pop("POLARS_MAX_THREADS", None)
            else:
                os.environ["POLARS_MAX_THREADS"] = self._polars_threads
        if self._stager is not None:
            self._stager.close()


def _commit(
    con: duckdb.DuckDBPyConnection, staged: list[StagedFile], folder: Path, summary: LoadSummary
) -> None:
    """Move the staged rows into the raw tables and log every file, in one transaction."""
    loaded_at = _now()
    counts = {f.path: FileSummary(f.path, read=f.staged.read, skipped=f.skipped) for f in staged}
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    con.begin()
    try:
        for table in RAW_TABLES.values():
            files = staged_parquet(folder / table.folder)
            if files is None:
                continue
            inserted = _insert_new(con, table, files, summary.load_id, loaded_at)
            for source_file, rows in inserted.items():
                counts[source_file].loaded += rows
            _keep_earliest_received(con, table, files, summary.load_id, loaded_at)
        files = staged_parquet(folder / QUARANTINE)
        if files is not None:
            inserted = _insert_quarantine(con, files, summary.load_id, loaded_at)
            for source_file, rows in inserted.items():
                counts[source_file].quarantined += rows
            summary.quarantined_by_reason = dict(
                con.execute(
                    "select reason, count(*) from raw.quarantine where load_id = ? group by reason",
                    [summary.load_id],
                ).fetchall()
            )
        for file in staged:
            result = counts[file.path]
            result.duplicates = result.read - result.loaded - result.quarantined
            summary.files.append(result)
            if not file.skipped:
                log_file(con, file, result, summary.load_id)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def staged_parquet(folder: Path) -> str | None:
    """The read_parquet() of a staging folder's files, or None when nothing was staged there."""
    if not folder.is_dir():
        return None
    return f"read_parquet('{_quoted(folder)}/*.parquet', union_by_name = true)"


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


_COPY = ("file_index", "source_line", "copy_index")  # a staged row's place in the load


def _first_copies(table: RawTable, files: str, columns: tuple[str, ...], where: str) -> str:
    """One staged row per identity hash, as `columns` only (a narrow window stays in memory):
    the copy received first, then the first in file and line order."""
    return f"""
        select {", ".join(dict.fromkeys((table.key, *columns, *_COPY)))} from {files}
        where {where}
        qualify row_number() over (
            partition by {table.key}
            order by received_at asc nulls last, {", ".join(_COPY)}
        ) = 1
    """


def new_rows_sql(table: RawTable, files: str, stored: str | None) -> str:
    """The staged rows to load: each event's first copy, unless `stored` already holds it.

    Its columns: the staged ones (lineage and copy order included) and the payload as JSON.
    """
    unseen = (
        f"where not exists (select 1 from {stored} as stored "
        f"where stored.{table.key} = copy.{table.key})"
        if stored
        else ""
    )
    return f"""
        select * replace (payload::json as payload)
        from {files} as staged
        semi join (
            select * from ({_first_copies(table, files, ("received_at",), "true")}) as copy
            {unseen}
        ) as new using ({table.key}, {", ".join(_COPY)})
    """


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
    """CONTRACT section 3: among copies of an event, the earliest received_at is kept.

    Runs after `_insert_new`, whose rows already are their earliest copies.
    """
    kept = ("received_at", *table.kept_with_copy, "source_file", "source_line")
    assignments = ", ".join(f"{column} = copy.{column}" for column in kept)
    copies = _first_copies(table, files, kept, "received_at is not null")
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
        select
            source_file,
            source_line,
            raw_text,
            raw_hash,
            reason,
            detail,
            ? as load_id,
            ?::timestamp as loaded_at,
        from (
            select distinct on (source_file, source_line, raw_hash)
                *, sha256(raw_text) as raw_hash
            from {files}
            order by source_file, source_line, raw_hash
        ) as new
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


def log_file(
    con: duckdb.DuckDBPyConnection, file: StagedFile, result: FileSummary, load_id: str
) -> None:
    """One raw.load_log row for a file this load read."""
    con.execute(
        """
        insert into raw.load_log (
            load_id, path, file_sha256, file_bytes, start_offset, end_line, read_count,
            loaded_count, duplicate_count, quarantined_count, started_at, finished_at
        ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            load_id,
            file.path,
            file.sha256,
            file.size,
            file.start_offset,
            file.end_line,
            result.read,
            result.loaded,
            result.duplicates,
            result.quarantined,
            file.started_at,
            file.finished_at or file.started_at,
        ],
    )


def _rowcount(
    con: duckdb.DuckDBPyConnection, statement: str, parameters: list[object] | None = None
) -> int:
    """Run a statement to completion; for an insert or update, the rows it changed."""
    rows = con.execute(statement, parameters or []).fetchall()
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def _now() -> datetime:
    """Load lineage only (loaded_at, load log): never used to compute a result."""
    return datetime.now(UTC).replace(tzinfo=None)
