"""Publish the marts to their own DuckDB file, swapped in atomically, for readers.

DuckDB lets one process write a file or many read it, never both: a BI tool holding the
warehouse open would block the next load, and a reader of the warehouse during a build would
see half-built marts. So after each successful build the `marts` schema is copied to a new
file beside the warehouse (`warehouse.marts.duckdb` for `warehouse.duckdb`) and renamed over
the published one. A reader opens the published file read-only and sees the previous build or
the new one, whole; the copy costs what the marts cost, not what the raw history costs.

Every DuckDB file callmart writes is in the storage format of DuckDB 1.1 (`STORAGE_VERSION`),
which DuckDB 1.1 and every later release opens (docs/contract.md §10): BI tools bundle their
own DuckDB, often older than ours, and DuckDB 2 writes a format no 1.x release reads.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

from ingest.errors import CallmartError, disk_full_error
from ingest.raw_tables import ddl as raw_ddl

PUBLISHED_SCHEMA = "marts"

STORAGE_VERSION = "v1.1.0"
"""The storage format of the warehouse and the published file: DuckDB 1.1's (version 64).

The warehouse is created in it (`storage_compatibility_version` when `ingest.warehouse.connect`
and dbt-duckdb's profile open it) and keeps it whoever writes it later: DuckDB writes an
existing file in the format it was created in. A warehouse created in DuckDB 2's format
(before callmart set this) stays in it, since a file's format cannot be lowered in place;
the published file is new at every build, so BI tools can open it either way, and
`convert_to_storage_version` rewrites such a warehouse in this format once.
"""


STORAGE_VERSION_NUMBER = 64
"""The version number `STORAGE_VERSION` writes in a file's header: the one DuckDB 1.1 reads."""


def storage_version_number(path: Path) -> int:
    """The storage version number in the header of DuckDB file `path` (64: DuckDB 0.10 to
    1.1's format, which every later release reads; DuckDB 2 writes 999 there)."""
    with path.open("rb") as file:
        header = file.read(20)
    if len(header) < 20 or header[8:12] != b"DUCK":
        raise CallmartError(f"{path} is not a DuckDB file")
    return int.from_bytes(header[12:20], "little")


def published_path(db: Path) -> Path:
    """Where readers find the marts of warehouse `db`."""
    return db.with_name(f"{db.stem}.marts{db.suffix or '.duckdb'}")


def publish_marts(db: Path, only: Sequence[str] | None = None) -> Path:
    """Copy every table of the warehouse's `marts` schema to the published file, atomically.

    The tables keep their comments (the dbt YAML descriptions, `persist_docs`): CREATE TABLE
    AS copies rows, not comments, so they are read from the warehouse's catalog and written
    again. The copies a killed publish left beside the published file go first.

    `only`: the published file holds every other table as the warehouse does (a build with
    nothing new, ingest/build_inputs.py), so a copy of it gets these tables afresh instead.
    """
    target = published_path(db)
    remove_stale_copies(target)
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    copied = only is not None and target.is_file()  # else every mart, into a new file
    try:
        if copied:
            shutil.copyfile(target, staging)
        with duckdb.connect(str(db), read_only=True) as con:
            _copy_marts(con, staging, only if copied else None)
        os.replace(staging, target)
    except (duckdb.Error, OSError) as error:
        full = disk_full_error(error, target)  # before the removal below frees the space
        _remove_copy(staging)
        if full is not None:
            raise full from error
        raise CallmartError(f"could not publish the marts to {target}: {error}") from error
    return target


def remove_stale_copies(target: Path) -> list[Path]:
    """Remove what killed publishes of `target` left: `.NAME.<uuid>.tmp` and its `.wal`.

    Only one publisher writes at a time (the writer lock), so every such file is stale.
    """
    stale = re.compile(rf"\.{re.escape(target.name)}\.[0-9a-f]{{32}}\.tmp(\.wal)?")
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except FileNotFoundError:
        return removed
    for entry in entries:
        if stale.fullmatch(entry.name) and not entry.is_dir(follow_symlinks=False):
            Path(entry.path).unlink(missing_ok=True)
            removed.append(Path(entry.path))
    return removed


def convert_to_storage_version(db: Path) -> bool:
    """Rewrite warehouse `db` in `STORAGE_VERSION` when it is in a later format; False when it
    already was.

    A file's format cannot be lowered in place, so the raw layer (the only part a build cannot
    make again) is copied into a new file, made by the raw tables' own DDL, and that file is
    renamed over the warehouse; the next `callmart build` rebuilds the rest in full (without
    its build log, every model starts over). A failure leaves the warehouse as it was. It
    needs the raw layer's size free on the warehouse's disk, and no other process may have the
    warehouse open.
    """
    if storage_version_number(db) <= STORAGE_VERSION_NUMBER:
        return False
    with duckdb.connect(str(db)) as con:
        con.execute("checkpoint")  # its write-ahead log, if any, would be replayed on the copy
    copy = db.with_name(f".{db.name}.{uuid.uuid4().hex}.tmp")
    try:
        with duckdb.connect() as con:
            con.execute(f"attach '{_quoted(db)}' as old (read_only)")
            con.execute(f"attach '{_quoted(copy)}' as new (storage_version '{STORAGE_VERSION}')")
            con.execute("use new")
            con.execute(raw_ddl())
            made = {name for (name,) in con.execute(_TABLES_OF, ["new", "raw"]).fetchall()}
            for (table,) in con.execute(_TABLES_OF, ["old", "raw"]).fetchall():
                name = f"raw.{_ident(table)}"
                if table in made:
                    con.execute(f"insert into new.{name} by name select * from old.{name}")
                else:
                    con.execute(f"create table new.{name} as select * from old.{name}")
            con.execute("use memory")
            con.execute("detach new")
        os.replace(copy, db)
    except (duckdb.Error, OSError) as error:
        full = disk_full_error(error, db)
        _remove_copy(copy)
        if full is not None:
            raise full from error
        raise CallmartError(f"could not convert {db}: {error}") from error
    return True


_TABLES_OF = (
    "select table_name from duckdb_tables() where database_name = ? and schema_name = ? order by 1"
)


def _copy_marts(
    con: duckdb.DuckDBPyConnection, staging: Path, only: Sequence[str] | None = None
) -> None:
    """The marts into a new file `staging`, or `only` these into the copy of a published file."""
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = ? "
            "and table_type = 'BASE TABLE' order by 1",
            [PUBLISHED_SCHEMA],
        ).fetchall()
        if only is None or name in only
    ]
    table_comments = dict(
        con.execute(
            "select table_name, comment from duckdb_tables() "
            "where database_name = current_database() and schema_name = ? "
            "and comment is not null",
            [PUBLISHED_SCHEMA],
        ).fetchall()
    )
    column_comments = con.execute(
        "select table_name, column_name, comment from duckdb_columns() "
        "where database_name = current_database() and schema_name = ? "
        "and comment is not null order by table_name, column_index",
        [PUBLISHED_SCHEMA],
    ).fetchall()
    # a new file in DuckDB 1.1's format; a copy keeps its own (DuckDB writes a file in the
    # format it was created in)
    version = "" if only is not None else f", storage_version '{STORAGE_VERSION}'"
    con.execute(f"attach '{_quoted(staging)}' as published (read_write{version})")
    schema = f"published.{PUBLISHED_SCHEMA}"
    con.execute("begin")
    con.execute(f"create schema if not exists {schema}")
    for table in tables:
        con.execute(f"drop table if exists {schema}.{_ident(table)}")
        con.execute(
            f"create table {schema}.{_ident(table)} as "
            f"select * from {PUBLISHED_SCHEMA}.{_ident(table)}"
        )
        if table in table_comments:
            con.execute(
                f"comment on table {schema}.{_ident(table)} is {_literal(table_comments[table])}"
            )
    for table, column, comment in column_comments:
        if table in tables:
            con.execute(
                f"comment on column {schema}.{_ident(table)}.{_ident(column)} "
                f"is {_literal(comment)}"
            )
    con.execute("commit")
    con.execute("detach published")


def _remove_copy(path: Path) -> None:
    for leftover in (path, path.with_name(f"{path.name}.wal")):
        leftover.unlink(missing_ok=True)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


if __name__ == "__main__":  # python -m ingest.publish convert WAREHOUSE: once, with no writer
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "convert":
        sys.exit("usage: python -m ingest.publish convert WAREHOUSE.duckdb")
    from ingest.warehouse import writing

    warehouse = Path(sys.argv[2]).resolve()
    try:
        with writing(warehouse):  # no load or build meanwhile
            changed = convert_to_storage_version(warehouse)
    except (CallmartError, duckdb.Error, OSError) as error:
        sys.exit(f"callmart: error: {error}")
    done = "rewritten in" if changed else "already in"
    print(f"{warehouse}: {done} the storage format of DuckDB {STORAGE_VERSION}")
