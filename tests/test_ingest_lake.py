"""`callmart ingest --to-parquet DIR`: the raw layer as a Parquet lake that loads share freely."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import duckdb
from conftest import SECRET, event, sign, write_lines

from ingest import raw_tables
from ingest.cli import SAMPLE_DIR, main

_TABLES = ("dialpad_call_events", "messagebird_calls", "messagebird_legs")


def _export(lake: Path, *paths: Path, secret: Path | None = None) -> int:
    args = ["ingest", "--quiet", "--to-parquet", str(lake)]
    if secret:
        args += ["--jwt-secret-file", str(secret)]
    return main([*args, *map(str, paths)])


def _lake(
    lake: Path, table: str, select: str = "*", where: str = "true"
) -> list[tuple[object, ...]]:
    with duckdb.connect() as con:
        return con.execute(
            f"select {select} from read_parquet('{lake}/{table}/**/*.parquet', "
            f"hive_partitioning = true) where {where} order by all"
        ).fetchall()


def test_an_event_lands_in_its_event_dates_partition_with_the_raw_columns(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    # 1_700_000_001_000 ms is 2023-11-14T22:13:21Z; the envelope's copy is received earlier
    payload = event(42, "ringing", date_rang=1_700_000_000_500)
    landing = write_lines(
        tmp_path / "a.ndjson",
        [payload, {"received_at": 1_600_000_000_000, "payload": sign(payload)}, "{bad"],
    )
    assert _export(tmp_path / "lake", landing) == 0

    files = sorted(p.relative_to(tmp_path / "lake") for p in (tmp_path / "lake").rglob("*.parquet"))
    assert [str(p.parent) for p in files if p.parts[0] == "dialpad_call_events"] == [
        "dialpad_call_events/event_date=2023-11-14"
    ]
    assert _lake(
        tmp_path / "lake",
        "dialpad_call_events",
        "call_id, state, date_rang, epoch_ms(received_at), event_at_source, source_line",
    ) == [(42, "ringing", 1_700_000_000_500, 1_600_000_000_000, "event", 2)]
    assert _lake(tmp_path / "lake", "quarantine", "source_line, reason") == [(3, "not_json")]
    assert _lake(
        tmp_path / "lake",
        "load_log",
        "read_count, loaded_count, duplicate_count, quarantined_count",
    ) == [(3, 1, 1, 1)]
    with duckdb.connect() as con:
        con.execute(raw_tables.ddl())
        warehouse_columns = [
            row[0]
            for row in con.execute(
                "select column_name from duckdb_columns() "
                "where table_name = 'dialpad_call_events' order by column_index"
            ).fetchall()
        ]
    lake_columns = [
        row[0]
        for row in duckdb.connect()
        .execute(
            f"describe select * from read_parquet('{tmp_path}/lake/dialpad_call_events/**/*.parquet', "
            "hive_partitioning = true)"
        )
        .fetchall()
    ]
    assert lake_columns == [*warehouse_columns, "event_date"]


def test_loads_share_a_lake_and_each_keeps_every_event_of_its_own(tmp_path: Path) -> None:
    lake, warehouse = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    secret = SAMPLE_DIR / "jwt_secret.txt"
    landing = SAMPLE_DIR / "landing"
    copy = tmp_path / "landing-copy"  # the same files at other paths: another machine's load
    shutil.copytree(landing, copy)
    assert _export(lake, landing, secret=secret) == 0
    assert _export(lake, copy, secret=secret) == 0  # a second, uncoordinated load
    args = ["ingest", "--quiet", "--db", str(warehouse), "--jwt-secret-file", str(secret)]
    assert main([*args, str(landing)]) == 0

    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    logged = _lake(lake, "load_log", "sum(read_count), sum(loaded_count), sum(quarantined_count)")
    assert logged == [
        (2 * summary["records"], 2 * summary["distinct_events"], 2 * summary["quarantined"])
    ]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in _TABLES:
            key = "event_hash" if table == "dialpad_call_events" else "object_hash"
            stored = con.execute(
                f"select * exclude (load_id, loaded_at, source_file) from raw.{table} order by all"
            ).fetchall()
            # each load holds each event once; the two loads hold the same rows
            for load in _lake(lake, table, "distinct load_id"):
                rows = _lake(
                    lake,
                    table,
                    "* exclude (load_id, loaded_at, event_date, source_file)",
                    f"load_id = '{load[0]}'",
                )
                assert rows == stored, table
            assert len(_lake(lake, table, f"distinct {key}")) == len(stored)


def test_a_failed_lake_load_shows_readers_no_file_and_leaves_no_pending_folder(
    tmp_path: Path, monkeypatch
) -> None:
    """Files are written under a hidden folder and renamed into place only when complete."""
    import ingest.lake

    written: list[str] = []
    real_copy = ingest.lake._LakeLoad._copy

    def copy_then_fail(self, table, *args, **kwargs):  # type: ignore[no-untyped-def]
        real_copy(self, table, *args, **kwargs)
        written.append(table)
        if table == "raw.quarantine":
            raise OSError("disk full")

    monkeypatch.setattr(ingest.lake._LakeLoad, "_copy", copy_then_fail)
    landing = write_lines(tmp_path / "a.ndjson", [event(42, "ringing"), "{bad"])
    assert _export(tmp_path / "lake", landing) == 1
    # the events and the quarantine were written...
    assert written[0] == "raw.dialpad_call_events" and written[-1] == "raw.quarantine"
    assert list((tmp_path / "lake").iterdir()) == []  # ...and none reached the lake

    monkeypatch.setattr(ingest.lake._LakeLoad, "_copy", real_copy)
    assert _export(tmp_path / "lake", landing) == 0
    assert sorted(p.name for p in (tmp_path / "lake").iterdir()) == [
        "dialpad_agent_status_events",  # no rows either
        "dialpad_call_events",
        "load_log",
        "messagebird_calls",  # no rows, but readers find its columns (Spark needs them)
        "messagebird_legs",
        "quarantine",
        "quarantine_releases",  # the dead-letter queue's releases (none yet)
    ]
    assert _lake(tmp_path / "lake", "dialpad_call_events", "call_id, state") == [(42, "ringing")]
    assert _lake(tmp_path / "lake", "messagebird_legs", "count(*), count(leg_id)") == [(0, 0)]
    with duckdb.connect() as con:
        columns = con.execute(
            f"describe select * from read_parquet('{tmp_path}/lake/messagebird_legs/**/*.parquet')"
        ).fetchall()
    assert ("leg_id", "VARCHAR") in [(name, kind) for name, kind, *_ in columns]


def test_a_lake_skips_files_it_loaded_before_as_the_warehouse_does(tmp_path: Path) -> None:
    """An hourly re-ingest of the same landing folder adds nothing: the lake's own load log
    says which files it has read (the quarantine is not copied again either)."""
    lake, warehouse = tmp_path / "lake", tmp_path / "warehouse.duckdb"
    secret = SAMPLE_DIR / "jwt_secret.txt"
    landing = SAMPLE_DIR / "landing"
    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    files = len(list(landing.iterdir()))
    for _ in range(2):
        assert _export(lake, landing, secret=secret) == 0
    args = ["ingest", "--quiet", "--db", str(warehouse), "--jwt-secret-file", str(secret)]
    for _ in range(2):
        assert main([*args, str(landing)]) == 0
    assert _lake(lake, "load_log", "count(*), sum(read_count)") == [(files, summary["records"])]
    assert _lake(lake, "quarantine", "count(*)") == [(summary["quarantined"],)]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.quarantine").fetchall() == [
            (summary["quarantined"],)
        ]


def test_a_lake_load_waits_for_pending_lines_fails_files_alone_and_retries(
    tmp_path: Path, monkeypatch
) -> None:
    """docs/contract.md §9 holds for the lake: a half-written line waits, a truncated gzip is
    one quarantine row, and `quarantine retry --lake` loads what a secret now verifies."""
    lake, landing = tmp_path / "lake", tmp_path / "landing"
    growing = landing / "a.ndjson"
    write_lines(growing, [event(1)])
    growing.write_text(growing.read_text() + json.dumps(event(2))[:25])
    whole = gzip.compress(json.dumps(event(3)).encode() + b"\n")
    (landing / "b.ndjson.gz").write_bytes(whole[:-8])
    monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
    write_lines(landing / "c.jwt", [sign(event(4))])
    assert main(["ingest", "--quiet", "--to-parquet", str(lake), str(landing)]) == 0
    assert _lake(lake, "dialpad_call_events", "call_id") == [(1,)]
    assert _lake(lake, "quarantine", "source_line, reason") == [
        (0, "corrupt_gzip"),
        (1, "no_secret"),
    ]
    assert _lake(lake, "load_log", "path, pending_count") == [
        (str(growing), 1),
        (str(landing / "c.jwt"), 0),
    ]

    growing.write_text(json.dumps(event(1)) + "\n" + json.dumps(event(2)) + "\n")
    (landing / "b.ndjson.gz").write_bytes(whole)
    assert main(["ingest", "--quiet", "--to-parquet", str(lake), str(landing)]) == 0
    assert _lake(lake, "dialpad_call_events", "call_id") == [(1,), (2,), (3,)]
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)
    assert main(["quarantine", "retry", "--quiet", "--lake", str(lake)]) == 0
    assert _lake(lake, "dialpad_call_events", "call_id") == [
        (1,), (2,), (3,), (4,)
    ]  # fmt: skip
    released = _lake(lake, "quarantine_releases", "source_line")
    assert released == [(0,), (1,)]  # the gzip once it loaded, the JWT once it verified
