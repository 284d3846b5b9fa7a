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
   - a file that cannot be read whole (CONTRACT section 9) is one quarantine row, open until
     the path loads, and nothing of it is staged;
   - raw.load_log gets one row per file read.
A file whose content was loaded before is skipped, and so is a failed file whose content has
not changed; an uncompressed line file that grew is read from where the last load stopped
(its pending last line included). Killing the process mid-load leaves the warehouse as it was:
at worst a staging folder remains, and the next load deletes it.

`callmart quarantine retry` (`retry_quarantine`) is a load too: it stages the open quarantined
records again, with today's secrets, and the failed files that are still there, and commits
the same way, releasing what now loads.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.errors import FAILED_FILE_REASONS, FileFailed, QuarantineReason
from ingest.publish import STORAGE_VERSION
from ingest.read import (
    CHUNK_RECORDS,
    Chunk,
    RawRecord,
    can_grow,
    display_path,
    fingerprint,
    prefix_sha256,
    read_chunks,
)
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
_FAILED_REASONS_SQL = ", ".join(f"'{reason}'" for reason in sorted(FAILED_FILE_REASONS))

Progress = Callable[[int], None]  # called with the bytes of input consumed since the last call


@dataclass
class FileSummary:
    path: str
    read: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    pending: int = 0
    skipped: bool = False  # its content was loaded before
    failed: str | None = None  # the reason it could not be read (still open when skipped)
    detail: str = ""


@dataclass
class LoadSummary:
    load_id: str
    files: list[FileSummary] = field(default_factory=list)
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    unknown_keys: dict[str, int] = field(default_factory=dict)  # payload keys no column holds
    released: int = 0  # quarantine rows (failed files, retried records) released by this load

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)

    @property
    def failed(self) -> list[FileSummary]:
        return [f for f in self.files if f.failed]

    def note_unknown_keys(self, staged: Sequence[StagedFile]) -> None:
        unknown: Counter[str] = Counter()
        for file in staged:
            unknown.update(file.staged.unknown_keys)
        self.unknown_keys = dict(unknown.most_common())


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse and make sure the raw tables exist."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # created in DuckDB 1.1's storage format, which DuckDB keeps for the file (CONTRACT §10)
    con = duckdb.connect(str(db_path), config={"storage_compatibility_version": STORAGE_VERSION})
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


@dataclass
class StagedFile:
    """A file as staged: what the load log needs, and the records its chunks read."""

    path: str  # as stored (display_path)
    sha256: str
    size: int
    start_offset: int
    end_line: int
    started_at: datetime
    staged: Staged = field(default_factory=Staged)
    skipped: bool = False
    finished_at: datetime | None = None
    end_offset: int = 0  # bytes consumed: up to the first byte of a pending last line
    consumed_sha256: str = ""
    pending: int = 0
    failure: FileFailed | None = None
    failure_is_open: bool = False  # the same failure is already in the quarantine
    retried_failure: bool = False  # staged by a retry of its open failed-file row


@dataclass(frozen=True)
class Previous:
    """The last load of a path: what the file was, and how much of it was consumed."""

    sha256: str
    size: int
    end_offset: int
    consumed_sha256: str
    end_line: int


@dataclass
class History:
    """What earlier loads of a warehouse (or lake) saw: the last load of each path, and the
    content hash of each path's open failed-file row."""

    previous: dict[str, Previous] = field(default_factory=dict)
    open_failures: dict[str, tuple[str, str, str]] = field(default_factory=dict)  # hash, why

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection, load_log: str, quarantine: str) -> History:
        """From the relations (SQL) of the load log and of the quarantine."""
        previous = {
            path: Previous(*row)
            for path, *row in con.execute(
                f"""
                select
                    path, file_sha256, file_bytes, coalesce(end_offset, file_bytes),
                    coalesce(consumed_sha256, file_sha256), end_line
                from {load_log}
                qualify row_number() over (partition by path order by finished_at desc) = 1
                """
            ).fetchall()
        }
        open_failures = {
            path: (raw_hash, reason, detail)
            for path, raw_hash, reason, detail in con.execute(
                f"""
                select source_file, raw_hash, reason, detail from {quarantine}
                where reason in ({_FAILED_REASONS_SQL}) and released_at is null
                """
            ).fetchall()
        }
        return cls(previous, open_failures)

    def open_failure(self, path: str, sha256: str) -> FileFailed | None:
        """The open failure of `path` when its content is still the one that failed."""
        found = self.open_failures.get(path)
        if found is None or found[0] != sha256:
            return None
        return FileFailed(QuarantineReason(found[1]), found[2] or "")


def stage_files(
    history: History,
    paths: Sequence[Path],
    decoder: Decoder,
    folder: Path,
    progress: Progress | None,
    workers: int | None,
    retried_failures: frozenset[str] = frozenset(),
    records: Sequence[tuple[str, list[RawRecord]]] = (),
) -> list[StagedFile]:
    """Stage every chunk of every file into `folder`, a few chunks in flight at a time.

    Files loaded before are skipped (`history`), grown files resumed; a file that cannot be
    read whole is staged as its failure, and nothing of it is kept. `records` (a retry's
    quarantined records, by source file) are staged after the files; `retried_failures` are
    paths whose failed-file row a retry re-reads (read whole, never skipped).
    """
    workers = workers or os.cpu_count() or 1
    size = sum(_size(p) for p in paths) + sum(len(r.text) for _, rs in records for r in rs)
    parallel = workers > 1 and size >= PARALLEL_MIN_BYTES
    staged: list[StagedFile] = []
    with _stagers(decoder, workers if parallel else 1) as submit:
        in_flight: list[tuple[Future[Staged], StagedFile, int]] = []

        def settle(keep: int) -> None:
            while len(in_flight) > keep:
                future, file, advanced = in_flight.pop(0)
                file.staged.add(future.result())
                file.finished_at = _now()
                if progress:
                    progress(advanced)

        def submit_chunk(file_index: int, file: StagedFile, number: int, chunk: Chunk) -> int:
            job = ChunkJob(chunk, file_index, file.path, folder, f"{file_index:06d}-{number:06d}")
            advanced = max(chunk.end_offset - file.end_offset, 0)
            in_flight.append((submit(job), file, advanced))
            settle(keep=2 * workers)  # bounded: memory stays flat
            return advanced

        for file_index, path in enumerate(paths):
            forced = display_path(path) in retried_failures
            file = _plan_file(history, path, forced)
            file.retried_failure = forced
            staged.append(file)
            if file.skipped or file.failure:
                if progress:
                    progress(file.size)
                continue
            if progress and file.start_offset:
                progress(file.start_offset)
            file.end_offset = file.start_offset
            try:
                chunks = read_chunks(path, file.start_offset, file.end_line, stop_offset=file.size)
                for number, chunk in enumerate(chunks):
                    submit_chunk(file_index, file, number, chunk)
                    file.end_offset, file.end_line = chunk.end_offset, chunk.end_line
                    file.pending = chunk.pending
                file.consumed_sha256 = _consumed_sha256(path, file)
            except FileFailed as failure:
                settle(keep=0)  # this file's chunks in flight, then none of them is kept
                _discard(folder, file_index)
                file.failure, file.staged = failure, Staged()
                file.failure_is_open = history.open_failure(file.path, file.sha256) is not None
            file.finished_at = _now()
        for offset, (source_file, batch) in enumerate(records):
            file_index = len(paths) + offset
            file = StagedFile(source_file, "", 0, 0, 0, _now())
            staged.append(file)
            for number, first in enumerate(range(0, len(batch), CHUNK_RECORDS)):
                part = batch[first : first + CHUNK_RECORDS]
                submit_chunk(file_index, file, number, Chunk(part, 0, 0, 0))
        settle(keep=0)
    return staged


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _plan_file(history: History, path: Path, forced: bool) -> StagedFile:
    """What of `path` this load reads: nothing (unchanged, or the same failed file), its grown
    tail, or all of it. `forced` (a retry of its failure) reads it whole."""
    started_at = _now()
    source = display_path(path)
    previous = None if forced else history.previous.get(source)
    file = StagedFile(source, "", _size(path), 0, 0, started_at)
    try:
        print_ = fingerprint(path, previous.end_offset if previous else None)
    except FileFailed as failure:
        file.failure = failure
        file.sha256 = f"unreadable:{file.size}"  # no content to hash: the size stands in
        file.failure_is_open = history.open_failure(source, file.sha256) is not None
        return file
    file.sha256, file.size = print_.sha256, print_.size
    still_failed = None if forced else history.open_failure(source, print_.sha256)
    if still_failed is not None:  # the same content that failed: no need to read it again
        file.failure, file.failure_is_open = still_failed, True
        return file
    if previous and previous.sha256 == print_.sha256:
        file.skipped = True
        return file
    if previous and can_grow(path) and print_.prefix_sha256 == previous.consumed_sha256:
        file.start_offset, file.end_line = previous.end_offset, previous.end_line
    return file


def _consumed_sha256(path: Path, file: StagedFile) -> str:
    """sha256 of the bytes consumed: the whole file, or up to a pending last line."""
    if file.end_offset >= file.size or not can_grow(path):
        file.end_offset = file.size
        return file.sha256
    return prefix_sha256(path, file.end_offset)


def _discard(folder: Path, file_index: int) -> None:
    """Remove every staged Parquet file of one file of the load."""
    for staged in folder.glob(f"*/{file_index:06d}-*.parquet"):
        staged.unlink()


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
                initargs=(self._decoder, os.getpid()),
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
    con: duckdb.DuckDBPyConnection,
    staged: list[StagedFile],
    folder: Path,
    summary: LoadSummary,
    retried: Sequence[tuple[str, int, str]] = (),
) -> None:
    """Move the staged rows into the raw tables, record failed files, release what loaded and
    log every file, in one transaction. `retried`: the (file, line, hash) of quarantine rows a
    retry decoded again."""
    loaded_at = _now()
    counts: dict[str, FileSummary] = {}
    for file in staged:
        counts.setdefault(file.path, FileSummary(file.path)).read += file.staged.read
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    con.execute("set preserve_insertion_order = false")  # lets the inserts stream, not buffer
    con.execute("set threads = 1")
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
        if retried:
            released, still = _release_retried(con, retried, files, summary.load_id, loaded_at)
            summary.released += released
            for source_file, rows in still.items():  # quarantined again: their rows stand
                counts[source_file].quarantined += rows
        if files is not None:
            inserted = _insert_quarantine(con, files, summary.load_id, loaded_at)
            for source_file, rows in inserted.items():
                counts[source_file].quarantined += rows
        for file in staged:
            result = counts[file.path]
            result.pending += file.pending
            result.read += file.pending
            if file.failure is None:
                result.skipped = file.skipped
            elif file.failure_is_open and not file.retried_failure:
                result.skipped = True  # the same failed file: its open row stands
                result.failed, result.detail = str(file.failure.reason), file.failure.detail
            else:
                _record_failure(con, file, summary.load_id, loaded_at)
                result.failed, result.detail = str(file.failure.reason), file.failure.detail
                result.read += 1
                result.quarantined += 1
        for result in counts.values():
            result.duplicates = result.read - result.loaded - result.quarantined - result.pending
        summary.files.extend(counts.values())
        for file in staged:
            if file.failure is None and file.sha256 and not file.skipped:
                log_file(con, file, counts[file.path], summary.load_id)
        loaded = [f.path for f in staged if f.failure is None and (f.sha256 or f.skipped)]
        summary.released += _release_failures(con, loaded, summary.load_id, loaded_at)
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


def staged_parquet(folder: Path) -> str | None:
    """The read_parquet() of a staging folder's files, or None when nothing was staged there.

    The files are named one by one, never by a glob: the warehouse's folder may hold glob
    characters (`wh[1]/`).
    """
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    names = ", ".join(f"'{_quoted(file)}'" for file in files)
    return f"read_parquet([{names}], union_by_name = true)"


def _quoted(path: Path | str) -> str:
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


def quarantine_rows_sql(files: str) -> str:
    """Staged quarantine rows, one per (file, line, text), with the text's hash."""
    return f"""
        select distinct on (source_file, source_line, raw_hash)
            * exclude (file_index, copy_index), sha256(raw_text) as raw_hash
        from {files}
        order by source_file, source_line, raw_hash
    """


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
    con.execute(
        "create or replace temp table retried "
        "(source_file varchar, source_line bigint, raw_hash varchar)"
    )
    con.executemany("insert into retried values (?, ?, ?)", list(retried))
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
    still = dict(
        con.execute(
            f"""
            select source_file, count(*) from ({again}) as again
            semi join retried using (source_file, source_line, raw_hash)
            group by source_file
            """
        ).fetchall()
    )
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
        where source_file = ? and reason in ({_FAILED_REASONS_SQL}) and released_at is null
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
            where source_file = ? and reason in ({_FAILED_REASONS_SQL}) and released_at is null
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


def log_file(
    con: duckdb.DuckDBPyConnection, file: StagedFile, result: FileSummary, load_id: str
) -> None:
    """One raw.load_log row for a file this load read."""
    con.execute(
        """
        insert into raw.load_log (
            load_id, path, file_sha256, file_bytes, start_offset, end_line, read_count,
            loaded_count, duplicate_count, quarantined_count, started_at, finished_at,
            end_offset, consumed_sha256, pending_count
        ) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            file.end_offset,
            file.consumed_sha256,
            file.pending,
        ],
    )


# --- callmart quarantine retry ----------------------------------------------------------------


@dataclass
class RetrySummary:
    """retried = loaded + duplicates + still quarantined (records, and failed files as one)."""

    load: LoadSummary
    retried: int = 0
    still_quarantined: int = 0
    missing_files: list[str] = field(default_factory=list)  # failed files no longer there


@dataclass
class RetryWork:
    """What a retry decodes again: open records by source file, their quarantine keys, and
    the failed files still there."""

    records: list[tuple[str, list[RawRecord]]] = field(default_factory=list)
    retried: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, hash)
    failed_paths: list[Path] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)


def open_quarantine_records(
    con: duckdb.DuckDBPyConnection, quarantine: str, reasons: Sequence[str]
) -> RetryWork:
    """The open rows of the quarantine relation `quarantine` (of `reasons`, or all)."""
    wanted = f"and reason in ({', '.join('?' for _ in reasons)})" if reasons else ""
    rows = con.execute(
        f"""
        select source_file, source_line, raw_text, raw_hash, reason, detail,
               epoch_ms(received_at)
        from {quarantine}
        where released_at is null {wanted}
        order by source_file, source_line, raw_hash
        """,
        list(reasons),
    ).fetchall()
    work = RetryWork()
    by_file: dict[str, list[RawRecord]] = {}
    for source_file, line, text, raw_hash, reason, detail, received_at_ms in rows:
        if reason in FAILED_FILE_REASONS:
            path = _existing_path(source_file)
            if path is None:
                work.missing_files.append(source_file)
            else:
                work.failed_paths.append(path)
            continue
        # a line that was not UTF-8 is kept with its bytes replaced: never data
        is_utf8 = not (reason == QuarantineReason.NOT_JSON and detail == "not UTF-8 text")
        by_file.setdefault(source_file, []).append(
            RawRecord(line, text, is_utf8=is_utf8, received_at_ms=received_at_ms)
        )
        work.retried.append((source_file, line, raw_hash))
    work.records = list(by_file.items())
    return work


def retry_quarantine(
    con: duckdb.DuckDBPyConnection,
    db_path: Path,
    decoder: Decoder,
    reasons: Sequence[str] = (),
    progress: Progress | None = None,
    workers: int | None = None,
) -> RetrySummary:
    """Decode the open quarantine again with `decoder` (today's secrets and keys), and re-read
    the failed files still there; load what now decodes, in one transaction (CONTRACT 9)."""
    summary = RetrySummary(LoadSummary(load_id=uuid.uuid4().hex))
    work = open_quarantine_records(con, "raw.quarantine", reasons)
    summary.missing_files = work.missing_files
    with _staging_folder(db_path, summary.load.load_id) as folder:
        history = History.read(con, "raw.load_log", "raw.quarantine")
        staged = stage_files(
            history,
            work.failed_paths,
            decoder,
            folder,
            progress,
            workers,
            retried_failures=frozenset(display_path(p) for p in work.failed_paths),
            records=work.records,
        )
        _commit(con, staged, folder, summary.load, work.retried)
        summary.load.note_unknown_keys(staged)
    load = summary.load
    summary.retried = load.total("read")
    summary.still_quarantined = summary.retried - load.total("loaded") - load.total("duplicates")
    return summary


def _existing_path(source_file: str) -> Path | None:
    """The file a failed-file row names, if it is still there (a name stored with `\\xff`
    escapes is tried as the bytes it stands for)."""
    path = Path(source_file)
    if path.is_file():
        return path
    try:
        raw = source_file.encode("utf-8").decode("unicode_escape").encode("latin-1")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return None
    path = Path(os.fsdecode(raw))
    return path if path.is_file() else None


def _rowcount(
    con: duckdb.DuckDBPyConnection, statement: str, parameters: list[object] | None = None
) -> int:
    """Run a statement to completion; for an insert or update, the rows it changed."""
    rows = con.execute(statement, parameters or []).fetchall()
    return int(rows[0][0]) if rows and rows[0] and rows[0][0] is not None else 0


def _now() -> datetime:
    """Load lineage only (loaded_at, load log): never used to compute a result."""
    return datetime.now(UTC).replace(tzinfo=None)
