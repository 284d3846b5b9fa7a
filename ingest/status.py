"""What `callmart status` and `callmart quarantine` read: the feed's health and the open
quarantine (docs/contract.md §10), without ever blocking a load.

`marts.feed_health` comes from the published marts file (`warehouse.marts.duckdb`), which a
load never holds: it is the feed as of the last build. What loads did since (the open
quarantine by reason, failed files, pending lines) comes from the warehouse, opened read-only
only when no writer holds it (`ingest.warehouse.reading`); while one does, status says so and
shows the last build's figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from ingest.errors import FAILED_FILE_REASONS_SQL
from ingest.publish import published_path
from ingest.warehouse import (
    WarehouseBusy,
    has_table,
    open_read_only,
    reading,
    require_warehouse,
)


@dataclass
class Live:
    """The warehouse's raw layer now: loads since the last build included."""

    last_loaded_at: datetime | None
    open_by_reason: dict[str, int]
    failed_files: list[dict[str, Any]]
    pending: list[dict[str, Any]]  # paths with a pending last line

    @property
    def open_quarantine_count(self) -> int:
        return sum(self.open_by_reason.values())


@dataclass
class Status:
    warehouse: Path
    published: Path
    feed_health: list[dict[str, Any]] = field(default_factory=list)  # as of the last build
    live: Live | None = None  # None while a writer holds the warehouse

    def as_json(self) -> dict[str, Any]:
        live = self.live
        return {
            "warehouse": str(self.warehouse),
            "published": str(self.published) if self.published.is_file() else None,
            "feed_health": [_jsonable(row) for row in self.feed_health],
            "live": None
            if live is None
            else {
                "last_loaded_at": _jsonable(live.last_loaded_at),
                "open_quarantine_count": live.open_quarantine_count,
                "open_quarantine_by_reason": live.open_by_reason,
                "failed_files": [_jsonable(row) for row in live.failed_files],
                "pending_lines": [_jsonable(row) for row in live.pending],
            },
        }


def read_status(db: Path) -> Status:
    require_warehouse(db)
    status = Status(db, published_path(db))
    if status.published.is_file():
        with duckdb.connect(str(status.published), read_only=True) as con:
            if has_table(con, "marts", "feed_health"):
                status.feed_health = _rows(con, "select * from marts.feed_health order by 1")
    with reading(db) as free:
        if free:
            with open_read_only(db) as con:
                status.live = _live(con)
    return status


def _live(con: duckdb.DuckDBPyConnection) -> Live:
    by_reason = dict(
        con.execute(
            "select reason, count(*) from raw.quarantine where released_at is null "
            "group by reason order by reason"
        ).fetchall()
    )
    failed = _rows(
        con,
        f"""
        select source_file as path, reason, detail, file_bytes, loaded_at as since
        from raw.quarantine
        where released_at is null and reason in ({FAILED_FILE_REASONS_SQL})
        order by source_file
        """,
    )
    pending = _rows(
        con,
        """
        select path, pending_count as lines, end_line as lines_loaded, finished_at as checked_at
        from raw.load_log
        qualify row_number() over (partition by path order by finished_at desc) = 1
            and pending_count > 0
        order by path
        """,
    )
    last_loaded = con.execute("select max(finished_at) from raw.load_log").fetchone()
    return Live(last_loaded[0] if last_loaded else None, by_reason, failed, pending)


def open_quarantine(db: Path) -> list[dict[str, Any]]:
    """The open quarantine by reason and file: records, their lines, when first seen."""
    require_warehouse(db)
    with reading(db) as free:
        if not free:
            raise WarehouseBusy(
                f"the warehouse {db} is being written (a load, build or retry); the open "
                "quarantine can be listed when it ends (callmart status shows the last build's "
                "counts meanwhile)"
            )
        with open_read_only(db) as con:
            return _rows(
                con,
                """
                select
                    reason,
                    source_file,
                    any_value(provider) as provider,
                    count(*) as records,
                    min(source_line) as first_line,
                    max(source_line) as last_line,
                    min(loaded_at) as first_quarantined_at,
                    max(detail) as detail
                from raw.quarantine
                where released_at is null
                group by reason, source_file
                order by reason, source_file
                """,
            )


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value
