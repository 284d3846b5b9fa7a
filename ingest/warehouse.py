"""The warehouse file as operators meet it: one writer at a time, readers that never block one.

DuckDB lets one process write a file, or many read it, never both, and reports a conflict as a
raw lock error. callmart puts its own lock beside the warehouse (`.<name>.lock`, two byte
ranges locked with POSIX `lockf`, released by the kernel when a process dies however it dies):

- byte 0, the *writer* lock: every writing command (ingest, build, run, quarantine retry)
  holds it for its whole run. A second writer waits `--wait` seconds for it, then stops with
  one line saying the warehouse is busy (docs/contract.md §1).
- byte 1, the *file* lock: writers hold it exclusively while they have the file open; reading
  commands (status, quarantine) take it shared, without waiting, and fall back to the
  published marts when a writer has it. A writer waits out readers (they take well under a
  second) for at most READER_GRACE_S.

A program outside callmart holding the warehouse open (a BI tool pointed at the wrong file)
is reported as such, not as a lock error. `connect` opens the file (creating it, in the storage
format BI tools read, with the raw tables) for the commands that hold it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from ingest.errors import CallmartError
from ingest.publish import STORAGE_VERSION
from ingest.raw_tables import ddl

READER_GRACE_S = 10.0
_POLL_S = 0.1
_WRITER, _FILE = 0, 1


class WarehouseBusy(CallmartError):
    """Another process writes the warehouse (or holds it open)."""


class NoWarehouse(CallmartError):
    """A command that reads or builds was pointed at a warehouse that does not exist."""

    def __init__(self, db: Path) -> None:
        super().__init__(f"no warehouse at {db}: load something first (callmart ingest or run)")
        self.db = db


def connect(db_path: Path) -> duckdb.DuckDBPyConnection:
    """Open the warehouse and make sure the raw tables exist."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # created in DuckDB 1.1's storage format, which DuckDB keeps (docs/contract.md §10)
    con = duckdb.connect(str(db_path), config={"storage_compatibility_version": STORAGE_VERSION})
    con.execute("set TimeZone = 'UTC'")
    con.execute(ddl())
    return con


def lock_path(db: Path) -> Path:
    return db.with_name(f".{db.name}.lock")


def require_warehouse(db: Path) -> None:
    """`build`, `status`, `quarantine` and `report` never create a warehouse."""
    if not db.is_file():
        raise NoWarehouse(db)


@contextmanager
def writing(db: Path, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the warehouse for writing for the block, waiting up to `wait_s` for another writer."""
    db.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _lock(descriptor, _WRITER, fcntl.LOCK_EX, wait_s):
            waited = f" after waiting {wait_s:g} s" if wait_s else ""
            raise WarehouseBusy(
                f"the warehouse {db} is busy: another callmart load, build or retry is writing "
                f"it{waited} (--wait SECONDS waits for it)"
            )
        if not _lock(descriptor, _FILE, fcntl.LOCK_EX, READER_GRACE_S):
            raise WarehouseBusy(f"the warehouse {db} is busy: a reading command holds it open")
        yield
    finally:
        os.close(descriptor)  # closing releases every lock this process holds on it


@contextmanager
def reading(db: Path) -> Iterator[bool]:
    """Yields True while the warehouse may be opened read-only, False when a writer has it."""
    try:
        descriptor = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only folder: nobody can be writing through callmart
        yield True
        return
    try:
        yield _lock(descriptor, _FILE, fcntl.LOCK_SH, 0.0)
    finally:
        os.close(descriptor)


def _lock(descriptor: int, byte: int, kind: int, wait_s: float) -> bool:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.lockf(descriptor, kind | fcntl.LOCK_NB, 1, byte)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)


def open_read_only(db: Path) -> duckdb.DuckDBPyConnection:
    """The warehouse, read-only (only within `reading`, when it yielded True)."""
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as error:
        raise held_open(db, error) from error


def held_open(db: Path, error: BaseException) -> CallmartError:
    """DuckDB's lock conflict as one line: another program holds the file."""
    if "lock" in str(error).lower():
        return WarehouseBusy(
            f"the warehouse {db} is open in another program (BI tools should open the "
            f"published marts file instead: {db.stem}.marts{db.suffix or '.duckdb'})"
        )
    return CallmartError(f"cannot open the warehouse {db}: {' '.join(str(error).split())}")


def has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    """Whether the database `con` opened holds table `schema.name`."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return bool(found and found[0])
