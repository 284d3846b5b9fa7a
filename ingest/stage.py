"""Landing files to staged Parquet: the half of a load that reads, decodes and flattens.

Both sinks (`ingest.load`: the DuckDB warehouse, `ingest.lake`: a Parquet lake) stage first:
`stage_files` decides what of each file this load reads (`History`: what the sink's earlier
loads saw; a file loaded before is skipped, a grown file resumed, a failed file whose content
has not changed is not read again), cuts the files into chunks (`ingest.read`), and stages
each chunk, in worker processes when the load is big enough to use every core, in the loading
process otherwise. Staging one chunk (`Stager.stage`) decodes every record (plain event lines
and JWT lines column-wise, `ingest.plain`; the rest record by record, `ingest.decode`),
flattens the good ones per raw table (`ingest.flatten`) and writes them, and the bad ones, as
Parquet files under the load's staging folder. Nothing here writes a sink: the sink moves the
staged rows in at the end, so memory stays flat however big the files are, and a killed load
leaves only a staging folder behind.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from ingest.children import die_with_parent
from ingest.decode import Decoder, Event, Kind, Rejected
from ingest.errors import FAILED_FILE_REASONS_SQL, FileFailed, QuarantineReason
from ingest.flatten import events_frame, extract_fields, flatten, type_fields
from ingest.plain import (
    PlainLines,
    as_records,
    is_plain_agent_status_event,
    is_plain_dialpad_event,
    plain_lines,
)
from ingest.raw_tables import (
    DIALPAD_AGENT_STATUS_EVENTS,
    DIALPAD_CALL_EVENTS,
    MESSAGEBIRD_CALLS,
    MESSAGEBIRD_LEGS,
    RawTable,
)
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

QUARANTINE = "quarantine"  # the staging sub-folder of bad records
# the raw table each kind of good record goes to
TABLE_OF_KIND = {
    Kind.DIALPAD_EVENT: DIALPAD_CALL_EVENTS,
    Kind.DIALPAD_AGENT_STATUS: DIALPAD_AGENT_STATUS_EVENTS,
    Kind.MESSAGEBIRD_CALL: MESSAGEBIRD_CALLS,
    Kind.MESSAGEBIRD_LEG: MESSAGEBIRD_LEGS,
}
# Below this much input a load stages in its own process: starting workers costs about a second.
PARALLEL_MIN_BYTES = 64 << 20

Progress = Callable[[int], None]  # called with the bytes of input consumed since the last call


@dataclass
class Staged:
    """What staging one chunk found: records read, and payload keys no column holds."""

    read: int = 0
    unknown_keys: Counter[str] = field(default_factory=Counter)

    def add(self, other: Staged) -> None:
        self.read += other.read
        self.unknown_keys.update(other.unknown_keys)


@dataclass(frozen=True, slots=True)
class ChunkJob:
    """What a worker needs for one chunk; `name` keeps its files apart and in order."""

    chunk: Chunk
    file_index: int  # the file's position in the load: orders copies across files
    source_file: str
    folder: Path  # the load's staging folder
    name: str


# --- files: what this load reads of each, staged chunk by chunk --------------------------


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

    @property
    def failed_anew(self) -> bool:
        """It failed, and this load records the failure (counted as one quarantined record):
        not the same failure already open, unless a retry read it again."""
        return self.failure is not None and (not self.failure_is_open or self.retried_failure)


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
                where reason in ({FAILED_FILE_REASONS_SQL}) and released_at is null
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
                file.finished_at = load_time()
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
            file.finished_at = load_time()
        for offset, (source_file, batch) in enumerate(records):
            file_index = len(paths) + offset
            file = StagedFile(source_file, "", 0, 0, 0, load_time())
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
    started_at = load_time()
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


def load_time() -> datetime:
    """Load lineage only (loaded_at, load log): never used to compute a result."""
    return datetime.now(UTC).replace(tzinfo=None)


# --- one chunk: decoded, flattened, written as Parquet ----------------------------------------


class Stager:
    """Stages chunks; holds the decoder and an in-memory DuckDB for `json_transform`.

    `plain_path` takes plain JSON event lines and JWT lines column-wise (`ingest.plain`);
    without it every record takes the per-record path (the differential tests run both).
    """

    def __init__(self, decoder: Decoder, plain_path: bool = True) -> None:
        self._decoder = decoder
        self._plain_path = plain_path
        self._con = duckdb.connect()
        self._con.execute("set threads = 1")  # one stager per core does the parallelism

    def close(self) -> None:
        self._con.close()

    def stage(self, job: ChunkJob) -> Staged:
        """Write the chunk's rows to Parquet files under `job.folder`."""
        # A chunk allocates some million containers and frees them together, none in a cycle:
        # the cyclic collector would walk them again and again for nothing (measured: it took
        # half of msgspec's parsing time)
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._stage(job)
        finally:
            if collecting:
                gc.enable()

    def _stage(self, job: ChunkJob) -> Staged:
        plain = plain_lines(job.chunk, self._decoder) if self._plain_path else None
        fast = {} if plain is None else self._plain(plain)
        records = job.chunk.records() if plain is None else plain.others
        events: list[Event] = []
        rejected: list[Rejected] = [] if plain is None else plain.rejected  # JWT lines refused
        for record in records:
            for outcome in self._decode(record):
                if isinstance(outcome, Event):
                    events.append(outcome)
                else:
                    rejected.append(outcome)
        if plain is not None:  # both paths' rejections by line, as the per-record path gives them
            rejected.sort(key=lambda outcome: outcome.line)
        lineage = (
            pl.lit(job.file_index, dtype=pl.Int32).alias("file_index"),
            pl.lit(job.source_file).alias("source_file"),
            # with file_index and source_line, tells apart equal elements of one line's list
            pl.int_range(pl.len(), dtype=pl.Int32).alias("copy_index"),
        )
        fast_read = sum(extracted.height for extracted, _ in fast.values())
        staged = Staged(read=len(events) + len(rejected) + fast_read)
        quarantines = [_rejected_frame(rejected)]
        for kind, table in TABLE_OF_KIND.items():
            of_kind = [event for event in events if event.kind is kind]
            extracted, fast_keys = fast.get(kind, (None, None))
            if not of_kind and (extracted is None or not extracted.height):
                continue
            key_sets = Counter(event.keys for event in of_kind)
            if fast_keys is not None:
                key_sets.update(fast_keys)
            for keys, count in key_sets.items():
                for key in keys:
                    if key not in table.payload_keys:
                        staged.unknown_keys[key] += count
            parts = []
            if extracted is not None and extracted.height:
                parts.append(self._flatten(table, extracted, extracted=True))
            if of_kind:
                parts.append(self._flatten(table, events_frame(of_kind)))
            # the two paths' rows in the per-record path's order: by line (a line is wholly on
            # one path)
            good, bad = parts[0] if len(parts) == 1 else _merged(parts)
            quarantines.append(bad)
            _write(good.with_columns(lineage), job.folder / table.folder, job.name)
        _write(pl.concat(quarantines).with_columns(lineage), job.folder / QUARANTINE, job.name)
        return staged

    def _plain(
        self, plain: PlainLines
    ) -> dict[Kind, tuple[pl.DataFrame, Counter[tuple[str, ...]]]]:
        """The plain Dialpad call events and agent status events among the chunk's objects,
        their fields extracted, and their key sets, by kind; the other objects join
        `plain.others`, for the per-record path."""
        if not plain.candidates.height:
            return {}
        try:
            text = extract_fields(self._con, plain.candidates, DIALPAD_CALL_EVENTS)
        except Exception:  # a record no rule foresaw: the per-record path isolates it
            plain.others.extend(as_records(plain.candidates))
            plain.others.sort(key=lambda record: record.line)
            return {}
        fast = text.select(is_plain_dialpad_event()).to_series()
        found = {Kind.DIALPAD_EVENT: (text.filter(fast), plain.key_sets(fast))}
        left = plain.candidates.filter(~fast)
        if left.height:
            try:
                agent_text = extract_fields(self._con, left, DIALPAD_AGENT_STATUS_EVENTS)
                agents = agent_text.select(is_plain_agent_status_event()).to_series()
            except Exception:  # as above: these go the per-record path
                agent_text, agents = left.clear(), pl.Series([False] * left.height)
            if agents.any():
                # the candidates' positions of the agent status events, for their key sets
                positions = (~fast).arg_true().filter(agents)
                mask = pl.Series([False] * fast.len()).scatter(positions, True)
                found[Kind.DIALPAD_AGENT_STATUS] = (agent_text.filter(agents), plain.key_sets(mask))
            if not agents.all():
                plain.others.extend(as_records(left.filter(~agents)))
                plain.others.sort(key=lambda record: record.line)
        return found

    def _decode(self, record: RawRecord) -> list[Event | Rejected]:
        """The record's outcomes; an error no rule foresaw quarantines it, never stops the load."""
        try:
            return list(self._decoder.decode(record))
        except Exception as error:  # a bug: the record waits in quarantine for the fix
            detail = f"{type(error).__name__}: {error}"[:500]
            return [Rejected(record.line, record.text, QuarantineReason.DECODE_FAILED, detail)]

    def _flatten(
        self, table: RawTable, events: pl.DataFrame, extracted: bool = False
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(rows for `table`, quarantine rows). Should flattening fail on a record no rule
        foresaw, the chunk is halved until the failing records stand alone, quarantined.
        `extracted`: `events` holds the fields `extract_fields` pulled out already."""
        try:
            if extracted:
                rows = type_fields(events, self._decoder.window, table)
            else:
                rows = flatten(self._con, events, self._decoder.window, table)
        except Exception as error:  # a bug: isolate its records, keep the others
            if events.height == 1:
                detail = f"{type(error).__name__}: {error}"[:500]
                return pl.DataFrame(), _quarantine_rows(events, table, "decode_failed", detail)
            half = events.height // 2
            parts = [self._flatten(table, events.slice(0, half), extracted),
                     self._flatten(table, events.slice(half), extracted)]  # fmt: skip
            good = [part[0] for part in parts if part[0].height]
            return (
                pl.concat(good, how="vertical_relaxed") if good else pl.DataFrame(),
                pl.concat([part[1] for part in parts]),
            )
        bad = pl.col("reject_reason").is_not_null()
        rejected = rows.filter(bad)
        quarantined = _quarantine_rows(
            rejected, table, pl.col("reject_reason"), pl.col("reject_detail")
        )
        return rows.filter(~bad).drop("raw_text", "reject_reason", "reject_detail"), quarantined


def _merged(parts: list[tuple[pl.DataFrame, pl.DataFrame]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, quarantine rows) of both paths, by line."""
    good = [part[0] for part in parts if part[0].height]
    return (
        _by_line(pl.concat(good, how="vertical_relaxed")) if good else pl.DataFrame(),
        _by_line(pl.concat([part[1] for part in parts])),
    )


def _by_line(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.sort("source_line", maintain_order=True) if rows.height else rows


def _quarantine_rows(
    rows: pl.DataFrame, table: RawTable, reason: pl.Expr | str, detail: pl.Expr | str
) -> pl.DataFrame:
    """Rows of a raw table's frame that cannot be loaded, as quarantine rows."""
    as_expr = {name: pl.lit(value) if isinstance(value, str) else value
               for name, value in (("reason", reason), ("detail", detail))}  # fmt: skip
    return rows.select(
        "source_line",
        "raw_text",
        as_expr["reason"].alias("reason"),
        as_expr["detail"].alias("detail"),
        pl.lit(table.provider).alias("provider"),
        pl.from_epoch("received_at_ms", time_unit="ms").alias("received_at")
        if "received_at_ms" in rows.columns
        else pl.col("received_at"),
    ).cast(_QUARANTINE_SCHEMA)


def _write(frame: pl.DataFrame, folder: Path, name: str) -> None:
    if frame.height:
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / f"{name}.parquet", compression="lz4", statistics=False)


_QUARANTINE_SCHEMA = pl.Schema(
    {
        "source_line": pl.Int64(),
        "raw_text": pl.String(),
        "reason": pl.String(),
        "detail": pl.String(),
        "provider": pl.String(),
        "received_at": pl.Datetime("us"),
    }
)


def _rejected_frame(rejected: list[Rejected]) -> pl.DataFrame:
    columns = {
        "source_line": [r.line for r in rejected],
        "raw_text": [r.raw_text for r in rejected],
        "reason": [str(r.reason) for r in rejected],
        "detail": [r.detail for r in rejected],
        "provider": [r.provider for r in rejected],
        "received_at_ms": [r.received_at_ms for r in rejected],
    }
    schema = pl.Schema({**_QUARANTINE_SCHEMA, "received_at_ms": pl.Int64()})
    del schema["received_at"]
    return (
        pl.DataFrame(columns, schema=schema)
        .select(
            *(name for name in _QUARANTINE_SCHEMA if name != "received_at"),
            pl.from_epoch("received_at_ms", time_unit="ms").alias("received_at"),
        )
        .cast(_QUARANTINE_SCHEMA)
    )


# A worker process keeps one Stager for its life (set up by `start_worker`).
_worker: Stager | None = None


def start_worker(decoder: Decoder, parent_pid: int) -> None:
    global _worker
    die_with_parent(parent_pid)  # a killed load takes its workers with it
    _worker = Stager(decoder)


def stage_in_worker(job: ChunkJob) -> Staged:
    assert _worker is not None, "start_worker did not run in this process"
    return _worker.stage(job)
