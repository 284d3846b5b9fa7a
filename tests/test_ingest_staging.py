"""Loads stage chunks in worker processes and commit once: same rows on any number of cores."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from conftest import event, write_lines

import ingest.read as read_module
import ingest.stage as stage_module
from ingest.cli import SAMPLE_DIR, main
from ingest.load import staging_root

# What a load decides; lineage of the load itself (load_id, loaded_at) differs by design.
_RAW = {
    "raw.dialpad_call_events": "* exclude (load_id, loaded_at)",
    "raw.messagebird_calls": "* exclude (load_id, loaded_at)",
    "raw.messagebird_legs": "* exclude (load_id, loaded_at)",
    "raw.quarantine": "* exclude (load_id, loaded_at)",
    "raw.load_log": "path, file_sha256, read_count, loaded_count, duplicate_count, "
    "quarantined_count, end_line",
}


def _raw_rows(db: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            table: con.execute(f"select {columns} from {table} order by all").fetchall()
            for table, columns in _RAW.items()
        }


def _load_sample(db: Path, workers: int) -> int:
    secret = SAMPLE_DIR / "jwt_secret.txt"
    return main(
        [
            "ingest",
            "--quiet",
            "--workers",
            str(workers),
            "--db",
            str(db),
            "--jwt-secret-file",
            str(secret),
            str(SAMPLE_DIR / "landing"),
        ]
    )


def test_two_worker_processes_load_what_one_process_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stage_module, "PARALLEL_MIN_BYTES", 0)  # workers even for the sample
    monkeypatch.setattr(read_module, "CHUNK_BYTES", 64 << 10)  # and many chunks per file
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    assert _load_sample(one, workers=1) == 0
    assert _load_sample(two, workers=2) == 0

    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    with duckdb.connect(str(two), read_only=True) as con:
        counts = con.execute(
            "select sum(read_count), sum(loaded_count), sum(duplicate_count), "
            "sum(quarantined_count) from raw.load_log"
        ).fetchone()
    assert counts == (
        summary["records"],
        summary["distinct_events"],
        summary["duplicates"],
        summary["quarantined"],
    )
    assert _raw_rows(two) == _raw_rows(one)


def test_copies_in_different_chunks_keep_the_earliest_received_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ingest, query
) -> None:
    monkeypatch.setattr(read_module, "CHUNK_BYTES", 256)  # about one record per chunk
    payload = event(5, "ringing", event_timestamp=None, date_rang=1_700_000_001_000)
    path = write_lines(
        tmp_path / "a.ndjson",
        [
            {"received_at": 1_700_000_009_000, "payload": payload},
            event(6),
            {"received_at": 1_700_000_004_000, "payload": payload},
            payload,
        ],
    )
    assert ingest(path) == 0
    assert query(
        "select call_id, epoch_ms(received_at), epoch_ms(event_at), event_at_source, source_line "
        "from raw.dialpad_call_events order by call_id"
    ) == [
        (5, 1_700_000_004_000, 1_700_000_004_000, "received", 3),
        (6, None, 1_700_000_001_000, "event", 2),
    ]
    assert query("select read_count, loaded_count, duplicate_count from raw.load_log") == [
        (4, 2, 2)
    ]


def test_a_load_leaves_no_staging_files_and_removes_a_killed_loads(
    tmp_path: Path, ingest, db: Path
) -> None:
    leftover = staging_root(db) / "killed-load"
    leftover.mkdir(parents=True)
    (leftover / "chunk.parquet").write_bytes(b"half written")
    assert ingest(write_lines(tmp_path / "a.ndjson", [event(1)])) == 0
    assert not staging_root(db).exists()


def test_one_event_twice_in_one_lines_list_is_loaded_once(tmp_path: Path, ingest, query) -> None:
    payload = event(8)
    assert ingest(write_lines(tmp_path / "a.ndjson", [json.dumps([payload, payload])])) == 0
    assert query("select count(*) from raw.dialpad_call_events") == [(1,)]
    assert query("select read_count, loaded_count, duplicate_count from raw.load_log") == [
        (2, 1, 1)
    ]
