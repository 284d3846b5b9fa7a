"""Simulated traffic through `callmart run`: every mart row equals what the simulator knows.

The simulator builds each conversation from an explicit timeline and writes the values the
marts must show (ingest/sample/_expected); nothing here reads the marts back as the answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from ingest.cli import SAMPLE_DIR


def _expected(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mart_rows(db: Path, table: str) -> dict[str, dict[str, Any]]:
    """The mart's rows keyed by id, timestamps as unix ms like the simulator writes them."""
    with duckdb.connect(str(db), read_only=True) as con:
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        select = ", ".join(
            f"epoch_ms({name}) as {name}" if kind.startswith("TIMESTAMP") else name
            for name, kind in columns
        )
        cursor = con.execute(f"select {select} from marts.{table}")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    key = "conversation_id" if table == "fct_conversations" else "leg_id"
    return {row[key]: row for row in rows}


def test_the_sample_load_counts_match_the_simulator(sample_warehouse: Path) -> None:
    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        read, loaded, duplicates, quarantined = con.execute(
            "select sum(read_count), sum(loaded_count), sum(duplicate_count), "
            "sum(quarantined_count) from raw.load_log"
        ).fetchone()
        reasons = dict(
            con.execute("select reason, count(*) from raw.quarantine group by 1").fetchall()
        )
    assert (read, loaded, duplicates, quarantined) == (
        summary["records"],
        summary["distinct_events"],
        summary["duplicates"],
        summary["quarantined"],
    )
    assert reasons == summary["quarantined_by_reason"]


def test_every_conversation_matches_the_simulator(sample_warehouse: Path) -> None:
    expected = _expected(SAMPLE_DIR / "_expected" / "conversations.ndjson")
    actual = _mart_rows(sample_warehouse, "fct_conversations")
    assert sorted(actual) == sorted(row["conversation_id"] for row in expected)
    mismatches = [
        (row["conversation_id"], column, value, actual[row["conversation_id"]][column])
        for row in expected
        for column, value in row.items()
        if actual[row["conversation_id"]][column] != value
    ]
    assert mismatches == []


def test_every_leg_matches_the_simulator(sample_warehouse: Path) -> None:
    expected = _expected(SAMPLE_DIR / "_expected" / "legs.ndjson")
    actual = _mart_rows(sample_warehouse, "fct_call_legs")
    assert sorted(actual) == sorted(row["leg_id"] for row in expected)
    asserted_only_when_given = {"hold_ms", "talk_ms"}  # see ingest/sample/README.md
    mismatches = [
        (row["leg_id"], column, value, actual[row["leg_id"]][column])
        for row in expected
        for column, value in row.items()
        if not (column in asserted_only_when_given and value is None)
        and actual[row["leg_id"]][column] != value
    ]
    assert mismatches == []
