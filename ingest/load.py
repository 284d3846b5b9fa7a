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
from importlib import resources
from pathlib import Path

import duckdb
import polars as pl

from ingest.decode import Decoder, Event, Rejected
from ingest.flatten import events_frame, extract_fields, type_fields
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


def _merge_chunk(
    con: duckdb.DuckDBPyConnection,
    source: str,
    events: list[Event],
    rejected: list[Rejected],
    load_id: str,
    result: FileSummary,
) -> None:
    loaded_at = _now()
    quarantine = _rejected_frame(rejected)
    if events:
        typed = type_fields(extract_fields(con, events_frame(events)))
        bad = typed.filter(pl.col("unparseable").list.len() > 0)
        good = typed.filter(pl.col("unparseable").list.len() == 0)
        untimed = good.filter(pl.col("event_at_ms").is_null())
        good = good.filter(pl.col("event_at_ms").is_not_null())
        quarantine = pl.concat(
            [
                quarantine,
                bad.select(
                    "source_line",
                    "raw_text",
                    pl.lit("unparseable_field").alias("reason"),
                    pl.col("unparseable").list.join(", ").alias("detail"),
                ),
                untimed.select(
                    "source_line",
                    "raw_text",
                    pl.lit("no_event_time").alias("reason"),
                    pl.lit("no event_timestamp, received_at or date_* field").alias("detail"),
                ),
            ]
        )
        inserted = _insert_events(
            con, good.drop("raw_text", "unparseable"), source, load_id, loaded_at
        )
        result.loaded += inserted
        result.duplicates += good.height - inserted
    if quarantine.height:
        inserted = _insert_quarantine(con, quarantine, source, load_id, loaded_at)
        result.quarantined += inserted
        result.duplicates += quarantine.height - inserted


def _insert_events(
    con: duckdb.DuckDBPyConnection,
    good: pl.DataFrame,
    source: str,
    load_id: str,
    loaded_at: datetime,
) -> int:
    """Insert events not stored yet; give stored ones an earlier received_at if this copy has one.

    Returns how many rows were inserted.
    """
    if good.height == 0:
        return 0
    lineage = [source, load_id, loaded_at]
    con.register("_chunk_events", good)
    try:
        if good["received_at_ms"].is_not_null().any():
            _rowcount(con, _KEEP_EARLIEST_RECEIVED, lineage)
        return _rowcount(
            con,
            f"insert or ignore into raw.dialpad_call_events by name {_CHUNK_COPIES}",
            lineage,
        )
    finally:
        con.unregister("_chunk_events")


# One row per identity hash in the chunk: the copy received first (then the first line).
_CHUNK_COPIES = """
    select
        * exclude (payload, received_at_ms, event_at_ms),
        payload::json as payload,
        make_timestamp(received_at_ms * 1000) as received_at,
        make_timestamp(event_at_ms * 1000) as event_at,
        $1 as source_file,
        $2 as load_id,
        $3::timestamp as loaded_at,
    from _chunk_events
    qualify row_number() over (
        partition by event_hash order by received_at_ms asc nulls last, source_line
    ) = 1
"""

# CONTRACT section 3: among copies of an event, the earliest envelope received_at is kept.
_KEEP_EARLIEST_RECEIVED = f"""
    update raw.dialpad_call_events as stored
    set received_at = copy.received_at,
        event_at = copy.event_at,
        event_at_source = copy.event_at_source,
        source_file = copy.source_file,
        source_line = copy.source_line,
        load_id = copy.load_id,
        loaded_at = copy.loaded_at
    from ({_CHUNK_COPIES}) as copy
    where stored.event_hash = copy.event_hash
      and copy.received_at is not null
      and (stored.received_at is null or copy.received_at < stored.received_at)
"""


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
