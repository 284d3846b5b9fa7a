"""One chunk of a landing file to typed rows in staging Parquet files: the CPU-heavy half of a load.

A load (`ingest.load`) cuts files into chunks; each chunk is staged here, in a worker process
when the load is big enough to use both cores, in the loading process otherwise. Staging
decodes every record (JSON, JWT, envelopes, lists), flattens the good ones per raw table
(DuckDB `json_transform` plus polars typing) and writes them, and the bad ones, as Parquet
files under the load's staging folder. Nothing here touches the warehouse: the load moves the
staged rows in with one transaction at the end, so memory stays flat however big the files
are, and a killed load leaves only a staging folder behind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import duckdb
import polars as pl

from ingest.children import die_with_parent
from ingest.decode import Decoder, Event, Kind, Rejected, TimeWindow
from ingest.errors import QuarantineReason
from ingest.flatten import (
    DIALPAD_KEYS,
    MESSAGEBIRD_CALL_FIELDS,
    MESSAGEBIRD_LEG_FIELDS,
    events_frame,
    flatten_dialpad,
    flatten_messagebird,
)
from ingest.read import Chunk, RawRecord

QUARANTINE = "quarantine"


@dataclass(frozen=True)
class RawTable:
    """A raw table good records go to: its identity key and how payloads become its rows."""

    name: str
    key: str  # the identity hash column
    flatten: Callable[[duckdb.DuckDBPyConnection, pl.DataFrame, TimeWindow], pl.DataFrame]
    kept_with_copy: tuple[str, ...]  # what the earliest-received copy of an event rewrites
    keys: frozenset[str]  # the payload keys its columns hold
    provider: str

    @property
    def folder(self) -> str:
        """The staging sub-folder of this table's Parquet files."""
        return self.name.removeprefix("raw.")


RAW_TABLES = {
    Kind.DIALPAD_EVENT: RawTable(
        "raw.dialpad_call_events",
        "event_hash",
        flatten_dialpad,
        ("event_at", "event_at_source"),
        DIALPAD_KEYS,
        Kind.DIALPAD_EVENT.provider,
    ),
    Kind.MESSAGEBIRD_CALL: RawTable(
        "raw.messagebird_calls",
        "object_hash",
        partial(flatten_messagebird, fields=MESSAGEBIRD_CALL_FIELDS),
        (),
        frozenset(key for key, _ in MESSAGEBIRD_CALL_FIELDS.values()),
        Kind.MESSAGEBIRD_CALL.provider,
    ),
    Kind.MESSAGEBIRD_LEG: RawTable(
        "raw.messagebird_legs",
        "object_hash",
        partial(flatten_messagebird, fields=MESSAGEBIRD_LEG_FIELDS),
        (),
        frozenset(key for key, _ in MESSAGEBIRD_LEG_FIELDS.values()),
        Kind.MESSAGEBIRD_LEG.provider,
    ),
}


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


class Stager:
    """Stages chunks; holds the decoder and an in-memory DuckDB for `json_transform`."""

    def __init__(self, decoder: Decoder) -> None:
        self._decoder = decoder
        self._con = duckdb.connect()
        self._con.execute("set threads = 1")  # one stager per core does the parallelism

    def close(self) -> None:
        self._con.close()

    def stage(self, job: ChunkJob) -> Staged:
        """Write the chunk's rows to Parquet files under `job.folder`."""
        events: list[Event] = []
        rejected: list[Rejected] = []
        for record in job.chunk.records():
            for outcome in self._decode(record):
                (events if isinstance(outcome, Event) else rejected).append(outcome)
        lineage = (
            pl.lit(job.file_index, dtype=pl.Int32).alias("file_index"),
            pl.lit(job.source_file).alias("source_file"),
            # with file_index and source_line, tells apart equal elements of one line's list
            pl.int_range(pl.len(), dtype=pl.Int32).alias("copy_index"),
        )
        staged = Staged(read=len(events) + len(rejected))
        quarantines = [_rejected_frame(rejected)]
        for kind, table in RAW_TABLES.items():
            of_kind = [event for event in events if event.kind is kind]
            if not of_kind:
                continue
            key_sets = Counter(event.keys for event in of_kind)
            for keys, count in key_sets.items():
                for key in keys:
                    if key not in table.keys:
                        staged.unknown_keys[key] += count
            good, bad = self._flatten(table, events_frame(of_kind))
            quarantines.append(bad)
            _write(good.with_columns(lineage), job.folder / table.folder, job.name)
        _write(pl.concat(quarantines).with_columns(lineage), job.folder / QUARANTINE, job.name)
        return staged

    def _decode(self, record: RawRecord) -> list[Event | Rejected]:
        """The record's outcomes; an error no rule foresaw quarantines it, never stops the load."""
        try:
            return list(self._decoder.decode(record))
        except Exception as error:  # a bug: the record waits in quarantine for the fix
            detail = f"{type(error).__name__}: {error}"[:500]
            return [Rejected(record.line, record.text, QuarantineReason.DECODE_FAILED, detail)]

    def _flatten(self, table: RawTable, events: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(rows for `table`, quarantine rows). Should flattening fail on a record no rule
        foresaw, the chunk is halved until the failing records stand alone, quarantined."""
        try:
            rows = table.flatten(self._con, events, self._decoder.window)
        except Exception as error:  # a bug: isolate its records, keep the others
            if events.height == 1:
                detail = f"{type(error).__name__}: {error}"[:500]
                return pl.DataFrame(), _quarantine_rows(events, table, "decode_failed", detail)
            half = events.height // 2
            parts = [self._flatten(table, events.slice(0, half)),
                     self._flatten(table, events.slice(half))]  # fmt: skip
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


_QUARANTINE_SCHEMA = {
    "source_line": pl.Int64,
    "raw_text": pl.String,
    "reason": pl.String,
    "detail": pl.String,
    "provider": pl.String,
    "received_at": pl.Datetime("us"),
}


def _rejected_frame(rejected: list[Rejected]) -> pl.DataFrame:
    columns = {
        "source_line": [r.line for r in rejected],
        "raw_text": [r.raw_text for r in rejected],
        "reason": [str(r.reason) for r in rejected],
        "detail": [r.detail for r in rejected],
        "provider": [r.provider for r in rejected],
        "received_at_ms": [r.received_at_ms for r in rejected],
    }
    schema = {**_QUARANTINE_SCHEMA, "received_at_ms": pl.Int64}
    del schema["received_at"]
    return (
        pl.DataFrame(columns, schema=schema)
        .select(
            *(name for name in _QUARANTINE_SCHEMA if name != "received_at"),
            pl.from_epoch("received_at_ms", time_unit="ms").alias("received_at"),
        )
        .cast(_QUARANTINE_SCHEMA)
    )  # type: ignore[arg-type]


# A worker process keeps one Stager for its life (set up by `start_worker`).
_worker: Stager | None = None


def start_worker(decoder: Decoder, parent_pid: int) -> None:
    global _worker
    die_with_parent(parent_pid)  # a killed load takes its workers with it
    _worker = Stager(decoder)


def stage_in_worker(job: ChunkJob) -> Staged:
    assert _worker is not None, "start_worker did not run in this process"
    return _worker.stage(job)
