"""DuckDB writes: the raw tables, dedupe, quarantine and the load log, one transaction per load.

A load reads each file in chunks and merges each chunk at once, so memory stays flat:
- an event whose identity hash is already stored is a duplicate (`insert or ignore` on the
  primary key); among copies the earliest envelope `received_at` is kept;
- a bad record goes to raw.quarantine once per (file, line, text);
- a file whose content was loaded before is skipped; an uncompressed line file that grew
  (its old content is a prefix of the new) is read from where the last load stopped.
Killing the process mid-load leaves the warehouse as it was: the transaction never commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from ingest.decode import Decoder, Event, Kind, Rejected
from ingest.flatten import (
    MESSAGEBIRD_CALL_FIELDS,
    MESSAGEBIRD_LEG_FIELDS,
    events_frame,
    flatten_dialpad,
    flatten_messagebird,
)
from ingest.read import fingerprint, is_gzip, is_json_document, read_chunks

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

    def total(self, attribute: str) -> int:
        return sum(getattr(f, attribute) for f in self.files)


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse and make sure the raw tables exist."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db_path))
    con.execute("set TimeZone = 'UTC'")
    con.execute(resources.files("ingest").joinpath("sql/raw_tables.sql").read_text())
    return con


def load_files(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    decoder: Decoder,
    progress: Progress | None = None,
) -> LoadSummary:
    """Load every file in one transaction; nothing is kept if anything fails."""
    summary = LoadSummary(load_id=uuid.uuid4().hex)
    con.begin()
    try:
        for path in paths:
            summary.files.append(_load_file(con, path, decoder, summary, progress))
        summary.quarantined_by_reason = dict(
            con.execute(
                "select reason, count(*) from raw.quarantine where load_id = ? group by reason",
                [summary.load_id],
            ).fetchall()
        )
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return summary


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


def _load_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    decoder: Decoder,
    summary: LoadSummary,
    progress: Progress | None,
) -> FileSummary:
    started_at = _now()
    source = str(path)
    result = FileSummary(source)
    previous = _previous_load(con, source)
    print_ = fingerprint(path, previous.size if previous else None)
    if previous and previous.sha256 == print_.sha256:
        result.skipped = True
        if progress:
            progress(print_.size)
        return result
    resumable = not is_gzip(path) and not is_json_document(path)
    grown = previous is not None and resumable and print_.prefix_sha256 == previous.sha256
    start_offset = previous.size if grown and previous else 0
    start_line = previous.end_line if grown and previous else 0
    if progress and start_offset:
        progress(start_offset)
    consumed = start_offset
    end_line = start_line
    for chunk in read_chunks(path, start_offset, start_line):
        events: list[Event] = []
        rejected: list[Rejected] = []
        for record in chunk.records:
            for outcome in decoder.decode(record):
                (events if isinstance(outcome, Event) else rejected).append(outcome)
        result.read += len(events) + len(rejected)
        _merge_chunk(con, source, events, rejected, summary.load_id, result)
        if progress:
            progress(chunk.end_offset - consumed)
        consumed = chunk.end_offset
        end_line = chunk.end_line
    _rowcount(
        con,
        "insert into raw.load_log values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            summary.load_id,
            source,
            print_.sha256,
            print_.size,
            start_offset,
            end_line,
            result.read,
            result.loaded,
            result.duplicates,
            result.quarantined,
            started_at,
            _now(),
        ],
    )
    return result


@dataclass(frozen=True)
class _RawTable:
    """A raw table good records go to, and how they get there."""

    name: str
    key: str  # the identity hash column
    flatten: Callable[[duckdb.DuckDBPyConnection, pl.DataFrame], pl.DataFrame]
    kept_with_copy: tuple[str, ...]  # what the earliest-received copy rewrites

    def copies_sql(self) -> str:
        """One row per identity hash in the chunk: the copy received first (then the first line)."""
        return f"""
            select
                * exclude (payload),
                payload::json as payload,
                $1 as source_file,
                $2 as load_id,
                $3::timestamp as loaded_at,
            from _chunk_rows
            qualify row_number() over (
                partition by {self.key} order by received_at asc nulls last, source_line
            ) = 1
        """

    def keep_earliest_received_sql(self) -> str:
        """CONTRACT section 3: among copies of an event, the earliest received_at is kept."""
        kept = ("received_at", *self.kept_with_copy, *_LINEAGE)
        assignments = ",\n".join(f"{column} = copy.{column}" for column in kept)
        return f"""
            update {self.name} as stored
            set {assignments}
            from ({self.copies_sql()}) as copy
            where stored.{self.key} = copy.{self.key}
              and copy.received_at is not null
              and (stored.received_at is null or copy.received_at < stored.received_at)
        """


_LINEAGE = ("source_file", "source_line", "load_id", "loaded_at")
_RAW_TABLES = {
    Kind.DIALPAD_EVENT: _RawTable(
        "raw.dialpad_call_events", "event_hash", flatten_dialpad, ("event_at", "event_at_source")
    ),
    Kind.MESSAGEBIRD_CALL: _RawTable(
        "raw.messagebird_calls",
        "object_hash",
        partial(flatten_messagebird, fields=MESSAGEBIRD_CALL_FIELDS),
        (),
    ),
    Kind.MESSAGEBIRD_LEG: _RawTable(
        "raw.messagebird_legs",
        "object_hash",
        partial(flatten_messagebird, fields=MESSAGEBIRD_LEG_FIELDS),
        (),
    ),
}


def _merge_chunk(
    con: duckdb.DuckDBPyConnection,
    source: str,
    events: list[Event],
    rejected: list[Rejected],
    load_id: str,
    result: FileSummary,
) -> None:
    lineage: list[object] = [source, load_id, _now()]
    quarantines = [_rejected_frame(rejected)]
    for kind, table in _RAW_TABLES.items():
        of_kind = [event for event in events if event.kind is kind]
        if not of_kind:
            continue
        rows = table.flatten(con, events_frame(of_kind))
        bad = rows.filter(pl.col("reject_reason").is_not_null())
        good = rows.filter(pl.col("reject_reason").is_null())
        quarantines.append(
            bad.select(
                "source_line",
                "raw_text",
                pl.col("reject_reason").alias("reason"),
                pl.col("reject_detail").alias("detail"),
            )
        )
        inserted = _insert_rows(
            con, table, good.drop("raw_text", "reject_reason", "reject_detail"), lineage
        )
        result.loaded += inserted
        result.duplicates += good.height - inserted
    quarantine = pl.concat(quarantines)
    if quarantine.height:
        inserted = _insert_quarantine(con, quarantine, *lineage)  # type: ignore[arg-type]
        result.quarantined += inserted
        result.duplicates += quarantine.height - inserted


def _insert_rows(
    con: duckdb.DuckDBPyConnection, table: _RawTable, good: pl.DataFrame, lineage: list[object]
) -> int:
    """Insert rows not stored yet; give stored ones an earlier received_at if this copy has one.

    Returns how many rows were inserted.
    """
    if good.height == 0:
        return 0
    con.register("_chunk_rows", good)
    try:
        if good["received_at"].is_not_null().any():
            _rowcount(con, table.keep_earliest_received_sql(), lineage)
        return _rowcount(
            con, f"insert or ignore into {table.name} by name {table.copies_sql()}", lineage
        )
    finally:
        con.unregister("_chunk_rows")


def _insert_quarantine(
    con: duckdb.DuckDBPyConnection,
    quarantine: pl.DataFrame,
    source: str,
    load_id: str,
    loaded_at: datetime,
) -> int:
    con.register("_chunk_quarantine", quarantine)
    try:
        return _rowcount(
            con,
            """
            insert into raw.quarantine by name
            select distinct on (source_line, raw_hash)
                ? as source_file,
                source_line,
                raw_text,
                sha256(raw_text) as raw_hash,
                reason,
                detail,
                ? as load_id,
                ?::timestamp as loaded_at,
            from _chunk_quarantine as new
            where not exists (
                select 1 from raw.quarantine as stored
                where stored.source_file = ?
                  and stored.source_line = new.source_line
                  and stored.raw_hash = sha256(new.raw_text)
            )
            """,
            [source, load_id, loaded_at, source],
        )
    finally:
        con.unregister("_chunk_quarantine")


def _rejected_frame(rejected: list[Rejected]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_line": [r.line for r in rejected],
            "raw_text": [r.raw_text for r in rejected],
            "reason": [str(r.reason) for r in rejected],
            "detail": [r.detail for r in rejected],
        },
        schema={
            "source_line": pl.Int64,
            "raw_text": pl.String,
            "reason": pl.String,
            "detail": pl.String,
        },
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
