"""Publish the marts to their own DuckDB file, swapped in atomically, for readers.

DuckDB lets one process write a file or many read it, never both: a BI tool holding the
warehouse open would block the next load, and a reader of the warehouse during a build would
see half-built marts. So after each successful build the `marts` schema is copied to a new
file beside the warehouse (`warehouse.marts.duckdb` for `warehouse.duckdb`) and renamed over
the published one. A reader opens the published file read-only and sees the previous build or
the new one, whole; the copy costs what the marts cost, not what the raw history costs.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import duckdb

from ingest.errors import CallmartError

PUBLISHED_SCHEMA = "marts"


def published_path(db: Path) -> Path:
    """Where readers find the marts of warehouse `db`."""
    return db.with_name(f"{db.stem}.marts{db.suffix or '.duckdb'}")


def publish_marts(db: Path) -> Path:
    """Copy every table of the warehouse's `marts` schema to the published file, atomically."""
    target = published_path(db)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect(str(db)) as con:
            tables = [
                name
                for (name,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = ? and table_type = 'BASE TABLE' order by 1",
                    [PUBLISHED_SCHEMA],
                ).fetchall()
            ]
            con.execute(f"attach '{_quoted(staging)}' as published")
            con.execute(f"create schema published.{PUBLISHED_SCHEMA}")
            for table in tables:
                con.execute(
                    f"create table published.{PUBLISHED_SCHEMA}.{table} as "
                    f"select * from {PUBLISHED_SCHEMA}.{table}"
                ).fetchall()
            con.execute("detach published")
        os.replace(staging, target)
    except (duckdb.Error, OSError) as error:
        staging.unlink(missing_ok=True)
        raise CallmartError(f"could not publish the marts to {target}: {error}") from error
    return target


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
