"""Readers of the published marts file are never blocked and never see a half-built state."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import ingest.errors
from ingest.cli import main
from ingest.errors import CallmartError, DiskFullError, disk_full_error
from ingest.publish import (
    STORAGE_VERSION_NUMBER,
    publish_marts,
    published_path,
    storage_version_number,
)
from ingest.sample import write_sample

READER = """
import json, sys, time, duckdb
path, stop, out = sys.argv[1:4]
seen, errors = [], []
while True:
    try:
        with duckdb.connect(path, read_only=True) as con:
            tables = [t for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by 1").fetchall()]
            counts = {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}
            legs = con.execute("select count(distinct conversation_id) from marts.fct_call_legs").fetchone()[0]
            with_legs = con.execute("select count(*) from marts.fct_conversations where leg_count > 0").fetchone()[0]
        seen.append([counts, legs == with_legs])
    except Exception as error:
        errors.append(repr(error))
    try:
        open(stop).close()
        break
    except FileNotFoundError:
        time.sleep(0.2)
json.dump({"seen": seen, "errors": errors}, open(out, "w"))
"""


def _state(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        return {t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in tables}


def test_a_reader_during_a_load_sees_only_whole_builds(tmp_path: Path) -> None:
    write_sample(tmp_path / "traffic", events=500, seed=21)
    landing = sorted((tmp_path / "traffic" / "landing").iterdir())
    secret = str(tmp_path / "traffic" / "jwt_secret.txt")
    db = tmp_path / "warehouse.duckdb"
    first, second = landing[: len(landing) // 2], landing[len(landing) // 2 :]

    assert (
        main(["run", "--quiet", "--db", str(db), "--jwt-secret-file", secret, *map(str, first)])
        == 0
    )
    published = published_path(db)
    assert published == tmp_path / "warehouse.marts.duckdb"
    before = _state(published)
    with duckdb.connect(str(db), read_only=True) as con:  # the published copy is the marts, whole
        assert before == {
            t: con.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in before
        }

    stop, out = tmp_path / "stop", tmp_path / "seen.json"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(published), str(stop), str(out)])
    time.sleep(1)
    assert (
        main(["run", "--quiet", "--db", str(db), "--jwt-secret-file", secret, *map(str, second)])
        == 0
    )
    after = _state(published)
    time.sleep(0.5)
    stop.touch()
    assert reader.wait(timeout=60) == 0

    observed = json.loads(out.read_text())
    assert observed["errors"] == []
    assert after != before
    assert len(observed["seen"]) > 10
    assert all(counts in (before, after) and consistent for counts, consistent in observed["seen"])
    assert observed["seen"][-1][0] == after
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.access(published, os.R_OK)
    # both files stay in DuckDB 1.1's format through a second load and build (docs/contract.md §10)
    assert storage_version_number(db) == STORAGE_VERSION_NUMBER == 64
    assert storage_version_number(published) == 64


def _small_warehouse(db: Path, rows: int = 3) -> None:
    """A warehouse with two marts (commented as persist_docs comments them), a view, raw."""
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts")
        con.execute("create schema raw")
        con.execute(
            f"create table marts.fct_a as select range as id, 'x' || range as label from range({rows})"
        )
        con.execute('create table marts."b b" as select 1 as "it\'s"')
        con.execute("create view marts.v as select 1 as one")
        con.execute("create table raw.events as select 1 as id")
        con.execute("comment on table marts.fct_a is 'One row per a; it''s $quoted$'")
        con.execute("comment on column marts.fct_a.label is 'The label:\n  two lines'")
        con.execute('comment on column marts."b b"."it\'s" is \'a "quoted" column\'')


def test_publish_copies_the_marts_and_their_comments_in_duckdb_11_format(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _small_warehouse(db)

    published = publish_marts(db)

    assert published == tmp_path / "w.marts.duckdb"
    assert storage_version_number(published) == 64  # DuckDB 1.1's (tests/test_duckdb_compat.py)
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute(
            "select schema_name, table_name, comment from duckdb_tables() order by 2"
        ).fetchall() == [("marts", "b b", None), ("marts", "fct_a", "One row per a; it's $quoted$")]
        assert con.execute(
            "select table_name, column_name, comment from duckdb_columns() "
            "where schema_name = 'marts' order by 1, 2"
        ).fetchall() == [
            ("b b", "it's", 'a "quoted" column'),
            ("fct_a", "id", None),
            ("fct_a", "label", "The label:\n  two lines"),
        ]
        assert con.execute("select * from marts.fct_a order by id").fetchall() == [
            (0, "x0"),
            (1, "x1"),
            (2, "x2"),
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.marts.duckdb"]


def test_publishing_only_some_marts_replaces_them_in_a_copy_of_the_published_file(
    tmp_path: Path,
) -> None:
    """A build with nothing new (ingest/build_inputs.py) publishes feed_health alone: the other
    marts come from the published file, the named ones from the warehouse, comments included;
    with no published file to copy, every mart is published."""
    db = tmp_path / "w.duckdb"
    _small_warehouse(db, rows=3)
    publish_marts(db)
    with duckdb.connect(str(db)) as con:  # the warehouse moves on: both marts change
        con.execute("insert into marts.fct_a values (3, 'x3')")
        con.execute('insert into marts."b b" values (2)')
        con.execute("comment on column marts.fct_a.id is 'The id'")

    publish_marts(db, only=["fct_a"])

    published = published_path(db)
    assert storage_version_number(published) == 64
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_a").fetchone() == (4,)
        assert con.execute('select count(*) from marts."b b"').fetchone() == (1,)  # kept
        assert con.execute(
            "select column_name, comment from duckdb_columns() "
            "where table_name = 'fct_a' order by 1"
        ).fetchall() == [("id", "The id"), ("label", "The label:\n  two lines")]
        assert con.execute(
            "select comment from duckdb_tables() where table_name = 'fct_a'"
        ).fetchall() == [("One row per a; it's $quoted$",)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.marts.duckdb"]

    published.unlink()
    publish_marts(db, only=["fct_a"])
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute('select count(*) from marts."b b"').fetchone() == (2,)


KILLED_PUBLISH = """
import os, signal, sys
from pathlib import Path
import ingest.publish
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)  # killed before the swap
ingest.publish.publish_marts(Path(sys.argv[1]))
"""


def test_a_publish_removes_what_a_killed_publish_left(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _small_warehouse(db, rows=3)
    publish_marts(db)
    _small_warehouse(tmp_path / "next.duckdb", rows=5)
    shutil.move(tmp_path / "next.duckdb", db)  # the next build's marts
    killed = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, str(db)], check=False)
    assert killed.returncode == -9
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and left[0].startswith(".w.marts.duckdb.")
    # a write-ahead log of a copy killed mid-write, and files that are not ours to remove
    (tmp_path / f".w.marts.duckdb.{'0' * 32}.tmp.wal").write_text("wal")
    keep = [".w.marts.duckdb.mine.tmp", f".x.marts.duckdb.{'0' * 32}.tmp", "w.duckdb.tmp"]
    for name in keep:
        (tmp_path / name).write_text("keep")
    with duckdb.connect(str(published_path(db)), read_only=True) as con:  # still the old build
        assert con.execute("select count(*) from marts.fct_a").fetchone() == (3,)

    publish_marts(db)

    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["w.duckdb", "w.marts.duckdb", *keep]
    )
    with duckdb.connect(str(published_path(db)), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_a").fetchone() == (5,)


def test_disk_full_is_told_in_one_line_whatever_duckdb_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The translation itself, on the errors DuckDB gave on a full disk (and the free space
    of the file system when no error says it)."""
    path = tmp_path / "w.duckdb"
    wrote = duckdb.IOException(
        'IO Error: Could not write file "w.duckdb.wal": No space left on device'
    )
    full = disk_full_error(wrote, path)
    assert isinstance(full, DiskFullError) and isinstance(full, CallmartError)
    assert str(full) == f"no space left on device at {path}"
    try:  # the rollback after the failed commit hides the cause
        try:
            raise wrote
        except duckdb.Error:
            raise duckdb.TransactionException(
                "TransactionContext Error: cannot rollback - no transaction is active"
            ) from None
    except duckdb.Error as rollback:
        assert rollback.__context__ is wrote
        assert str(disk_full_error(rollback, path)) == f"no space left on device at {path}"
    assert disk_full_error(OSError(errno.ENOSPC, "No space left on device"), path) is not None
    assert disk_full_error(OSError(errno.EDQUOT, "Disk quota exceeded"), path) is not None

    thrift = duckdb.IOException("Invalid Input Error: Invalid thrift: transport error")
    assert disk_full_error(thrift, path) is None  # tmp_path's disk has room
    assert disk_full_error(duckdb.CatalogException("Table x does not exist"), path) is None

    class Full:  # what os.statvfs says of a full file system
        f_bavail, f_frsize = 3, 4096

    monkeypatch.setattr(ingest.errors.os, "statvfs", lambda folder: Full())
    assert str(disk_full_error(thrift, path)) == f"no space left on device at {path}"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs: a real full disk. Needs the right to mount (root, outside a locked
    container); the test skips where mounting is refused, and the translation is still
    tested by test_disk_full_is_told_in_one_line_whatever_duckdb_says."""
    folder = tmp_path / "small"
    folder.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
            check=False,
        )
        refused = done.stderr.strip() if done.returncode != 0 else ""
    except OSError as error:  # no mount command
        refused = str(error)
    if refused:
        pytest.skip(f"cannot mount a tmpfs here ({refused}): no real full disk")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_publish_on_a_real_full_disk(small_disk: Path) -> None:
    db = small_disk / "w.duckdb"
    _small_warehouse(db, rows=3)
    publish_marts(db)
    _small_warehouse(small_disk / "next.duckdb", rows=300_000)
    os.replace(small_disk / "next.duckdb", db)
    free = shutil.disk_usage(small_disk).free
    with (small_disk / "filler").open("wb") as filler:  # all but 64 KiB taken
        filler.write(b"\0" * (free - 64 * 1024))

    with pytest.raises(DiskFullError) as raised:
        publish_marts(db)

    assert str(raised.value) == f"no space left on device at {small_disk / 'w.marts.duckdb'}"
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "w.duckdb", "w.marts.duckdb"]
    with duckdb.connect(str(small_disk / "w.marts.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_a").fetchone() == (3,)  # untouched
    (small_disk / "filler").unlink()
    publish_marts(db)  # room again: it publishes
    with duckdb.connect(str(small_disk / "w.marts.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_a").fetchone() == (300_000,)
