"""What the two sinks of staged chunks share: the staged rows as SQL, and the per-file counts.

A load stages its files (`ingest.stage`), then one sink moves the staged rows in: the DuckDB
warehouse (`ingest.load`, one transaction) or a Parquet lake (`ingest.lake`, files renamed into
place). Both
- read the staged Parquet files with the same SQL: each event's first copy (`new_rows_sql`)
  and the bad records, one per file, line and text (`quarantine_rows_sql`);
- count every file the same way (`count_files`): read = loaded + duplicates + quarantined +
  pending (docs/contract.md §1), and log it (`raw.load_log`);
- retry the open quarantine the same way (`RetryWork`): the open records decoded again, the
  failed files still there read again;
- write within the memory limit (`within_memory_limit`, docs/contract.md §9).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest.decode import Decoder
from ingest.errors import FAILED_FILE_REASONS, QuarantineReason, memory_limit
from ingest.raw_tables import RawTable
from ingest.read import RawRecord, display_path
from ingest.stage import History, Progress, StagedFile, stage_files


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

    def as_json(self, target: Path) -> dict[str, object]:
        """The summary a scheduler reads (`--json`): read = loaded + duplicates + quarantined +
        pending, and what needs a look (failed files, pending lines, quarantine by reason)."""
        counts = ("read", "loaded", "duplicates", "quarantined", "pending")
        return {
            "load_id": self.load_id,
            "into": str(target),
            "files": len(self.files),
            "files_skipped": sum(1 for f in self.files if f.skipped and not f.failed),
            **{name: self.total(name) for name in counts},
            "quarantined_by_reason": dict(sorted(self.quarantined_by_reason.items())),
            "failed_files": [
                {"path": f.path, "reason": f.failed, "detail": f.detail} for f in self.failed
            ],
            "pending_files": [f.path for f in self.files if f.pending],
            "released": self.released,
            "unknown_keys": self.unknown_keys,
        }

    def note_unknown_keys(self, staged: Sequence[StagedFile]) -> None:
        unknown: Counter[str] = Counter()
        for file in staged:
            unknown.update(file.staged.unknown_keys)
        self.unknown_keys = dict(unknown.most_common())


# --- the per-file counts ----------------------------------------------------------------------


def count_files(
    con: duckdb.DuckDBPyConnection,
    summary: LoadSummary,
    staged: Sequence[StagedFile],
    loaded: Iterable[tuple[str, int]],
    quarantined: Iterable[tuple[str, int]],
) -> None:
    """Each file's counts into `summary`, and a `raw.load_log` row (in `con`) per file read.

    `loaded`: rows the sink added per source file; `quarantined`: quarantine rows it added, or
    kept open for records quarantined again, per source file. A file that failed anew counts as
    one quarantined record (its row is the sink's to write); a failure already open is skipped.
    What is read and neither loaded, quarantined nor pending is a duplicate.
    """
    counts: dict[str, FileSummary] = {}
    for file in staged:
        counts.setdefault(file.path, FileSummary(file.path)).read += file.staged.read
    for source_file, rows in loaded:
        counts[source_file].loaded += rows
    for source_file, rows in quarantined:
        counts[source_file].quarantined += rows
    for file in staged:
        result = counts[file.path]
        result.pending += file.pending
        result.read += file.pending
        if file.failure is None:
            result.skipped = file.skipped
            continue
        result.failed, result.detail = str(file.failure.reason), file.failure.detail
        if file.failed_anew:
            result.read += 1
            result.quarantined += 1
        else:
            result.skipped = True  # the same failed file: its open row stands
    for result in counts.values():
        result.duplicates = result.read - result.loaded - result.quarantined - result.pending
    summary.files.extend(counts.values())
    for file in staged:
        if file.failure is None and file.sha256 and not file.skipped:
            _log_file(con, file, counts[file.path], summary.load_id)


def loaded_paths(staged: Sequence[StagedFile]) -> list[str]:
    """The files whose content is now loaded (read whole or in part, or loaded before): their
    open failed-file rows are released."""
    return [f.path for f in staged if f.failure is None and (f.sha256 or f.skipped)]


def _log_file(
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


# --- within the memory limit ------------------------------------------------------------------

# The commit's inserts need about this much memory per DuckDB thread (measured 2026-12-03: 1M
# events with two threads ran out of a 512 MB limit, and fit in 1 GB)
_MEMORY_PER_COMMIT_THREAD = 450 * 2**20
_SIZE = re.compile(r"([0-9.]+)\s*(bytes|KiB|MiB|GiB|TiB|KB|MB|GB|TB)")
_UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40}
_UNITS |= {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


def within_memory_limit(con: duckdb.DuckDBPyConnection, spill: Path | None = None) -> None:
    """Make `con` move staged rows within `CALLMART_MEMORY_LIMIT`, spilling to `spill` (default:
    DuckDB's, `<warehouse>.tmp`) when it must, on a thread per 450 MiB of it."""
    con.execute(f"set memory_limit = '{memory_limit()}'")
    con.execute("set preserve_insertion_order = false")  # lets the writes stream, not buffer
    con.execute(f"set threads = {_commit_threads(con)}")
    if spill is not None:
        con.execute(f"set temp_directory = '{quoted(spill)}'")


def _commit_threads(con: duckdb.DuckDBPyConnection) -> int:
    """DuckDB threads for moving staged rows (a commit, a lake write): one per 450 MiB of its
    memory limit, at most one per core (the memory limit is the bound; a limit DuckDB reports in
    no known unit gets one)."""
    [(limit,)] = con.execute("select current_setting('memory_limit')").fetchall()
    match = _SIZE.fullmatch(str(limit).strip())
    if match is None:
        return 1
    size = float(match.group(1)) * _UNITS[match.group(2)]
    return max(1, min(os.cpu_count() or 1, int(size // _MEMORY_PER_COMMIT_THREAD)))


# --- the staged rows as SQL -------------------------------------------------------------------


def staged_parquet(folder: Path) -> str | None:
    """The read_parquet() of a staging folder's files, or None when nothing was staged there.

    The files are named one by one, never by a glob: the warehouse's folder may hold glob
    characters (`wh[1]/`).
    """
    files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    return f"read_parquet({file_list(files)}, union_by_name = true)"


def file_list(files: Sequence[Path]) -> str:
    """An SQL list of the files' paths, each named (a glob would misread `wh[1]/`)."""
    return "[" + ", ".join(f"'{quoted(file)}'" for file in files) + "]"


def quoted(path: Path | str) -> str:
    """`path` inside an SQL string literal."""
    return str(path).replace("'", "''")


_COPY = ("file_index", "source_line", "copy_index")  # a staged row's place in the load


def first_copies(table: RawTable, files: str, columns: tuple[str, ...], where: str) -> str:
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
    The first copies are matched to the staged rows by their place and a 64-bit hash of their
    identity, not the 64-character identity itself: DuckDB's semi join holds its keys in
    memory, and 5M text keys ran out of a 1 GB limit where these fit (2026-12-04).
    """
    unseen = (
        f"where not exists (select 1 from {stored} as stored "
        f"where stored.{table.key} = copy.{table.key})"
        if stored
        else ""
    )
    matched = " and ".join(f"staged.{column} = new.{column}" for column in _COPY)
    return f"""
        select * replace (payload::json as payload)
        from {files} as staged
        semi join (
            select {", ".join(_COPY)}, hash({table.key}) as key_hash
            from ({first_copies(table, files, ("received_at",), "true")}) as copy
            {unseen}
        ) as new on {matched} and hash(staged.{table.key}) = new.key_hash
    """


def quarantine_rows_sql(files: str) -> str:
    """Staged quarantine rows, one per (file, line, text), with the text's hash."""
    return f"""
        select distinct on (source_file, source_line, raw_hash)
            * exclude (file_index, copy_index), sha256(raw_text) as raw_hash
        from {files}
        order by source_file, source_line, raw_hash
    """


def create_retried(con: duckdb.DuckDBPyConnection, retried: Sequence[tuple[str, int, str]]) -> None:
    """Temp table `retried`: the (file, line, hash) of the quarantine rows a retry decoded."""
    con.execute(
        "create or replace temp table retried "
        "(source_file varchar, source_line bigint, raw_hash varchar)"
    )
    if retried:
        con.executemany("insert into retried values (?, ?, ?)", list(retried))


def quarantined_again_sql(again: str) -> str:
    """The retried rows among the quarantine rows `again`, per source file: records quarantined
    again, whose open rows stand."""
    return f"""
        select source_file, count(*) from ({again}) as again
        semi join retried using (source_file, source_line, raw_hash)
        group by source_file
    """


# --- callmart quarantine retry ----------------------------------------------------------------


@dataclass
class RetrySummary:
    """retried = loaded + duplicates + still quarantined (records, and failed files as one)."""

    load: LoadSummary
    retried: int = 0
    still_quarantined: int = 0
    missing_files: list[str] = field(default_factory=list)  # failed files no longer there

    def settle(self) -> None:
        """The retry's totals, from its load's per-file counts."""
        self.retried = self.load.total("read")
        self.still_quarantined = (
            self.retried - self.load.total("loaded") - self.load.total("duplicates")
        )


@dataclass
class RetryWork:
    """What a retry decodes again: open records by source file, their quarantine keys, and
    the failed files still there."""

    records: list[tuple[str, list[RawRecord]]] = field(default_factory=list)
    retried: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, hash)
    failed_paths: list[Path] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)

    @classmethod
    def read(
        cls, con: duckdb.DuckDBPyConnection, quarantine: str, reasons: Sequence[str]
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
        work = cls()
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

    def stage(
        self,
        history: History,
        decoder: Decoder,
        folder: Path,
        progress: Progress | None,
        workers: int | None,
    ) -> list[StagedFile]:
        """Stage the failed files still there (read whole), then the open records."""
        return stage_files(
            history,
            self.failed_paths,
            decoder,
            folder,
            progress,
            workers,
            retried_failures=frozenset(display_path(p) for p in self.failed_paths),
            records=self.records,
        )


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
