"""What a build runs, decided from the build log and the record (ingest/build_inputs.py), without
dbt: the record of a build, the raw tables that changed since, dbt's selection for them, and a
selected build marked the success it is. tests/test_nothing_new.py runs the same through dbt.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest import raw_tables
from ingest.build import project_dir
from ingest.build_inputs import (
    BuildInputs,
    build_inputs,
    changed_tables,
    record,
    selection,
)
from ingest.raw_tables import DIALPAD_AGENT_STATUS_EVENTS, MESSAGEBIRD_LEGS


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(raw_tables.ddl())
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.build_log "
        "(invocation_id varchar, started_at timestamp, status varchar, fingerprint varchar)"
    )
    return con


@pytest.fixture
def built(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """`con` after a whole build that succeeded and was recorded."""
    _log(con, "whole", 0, "running", "success")
    record(con, _results("whole"), _inputs(con), selected=False)
    return con


def _inputs(con: duckdb.DuckDBPyConnection, settings: dict[str, int] | None = None) -> BuildInputs:
    return build_inputs(con, project_dir(), settings)


def _log(con: duckdb.DuckDBPyConnection, invocation: str, minute: int, *statuses: str) -> None:
    for status in statuses:
        con.execute(
            "insert into intermediate.build_log values (?, ?, ?, 'f')",
            [invocation, datetime(2026, 12, 4, 12, minute), status],
        )


def _results(invocation: str) -> dict[str, dict[str, str]]:
    return {"metadata": {"invocation_id": invocation}}


def _statuses(con: duckdb.DuckDBPyConnection, invocation: str) -> list[str]:
    sql = "select status from intermediate.build_log where invocation_id = ? order by status"
    return [status for (status,) in con.execute(sql, [invocation]).fetchall()]


def _load_leg(con: duckdb.DuckDBPyConnection, leg: str) -> BuildInputs:
    """The inputs after a load of one MessageBird leg."""
    con.execute(
        "insert into raw.messagebird_legs (object_hash, leg_id, call_id, payload, source_file, "
        "source_line, load_id, loaded_at) values (?, ?, 'call-1', '{}', 'legs.ndjson', 1, 'l', now())",
        [f"hash-{leg}", leg],
    )
    return _inputs(con)


def test_a_record_of_the_previous_release_makes_one_whole_build(
    con: duckdb.DuckDBPyConnection,
) -> None:
    inputs = _inputs(con)
    # a build recorded before builds ran what changed: one digest of everything, `inputs`
    con.execute("create table intermediate.build_inputs (invocation_id varchar, inputs varchar)")
    _log(con, "old", 0, "running", "success")
    con.execute("insert into intermediate.build_inputs values ('old', 'a digest of everything')")
    assert changed_tables(con, inputs) is None  # no project to compare: whole

    _log(con, "whole", 1, "running", "success")
    record(con, _results("whole"), inputs, selected=False)
    assert changed_tables(con, inputs) == []  # nothing new
    assert selection([]) == ["feed_health"]


def test_the_tables_that_got_rows_select_their_models_and_the_build_is_a_success(
    built: duckdb.DuckDBPyConnection,
) -> None:
    con = built
    inputs = _load_leg(con, "leg-1")
    assert changed_tables(con, inputs) == [MESSAGEBIRD_LEGS]
    assert selection([MESSAGEBIRD_LEGS]) == [
        "feed_health", "config.materialized:table", "source:raw_messagebird.messagebird_legs+"
    ]  # fmt: skip
    # the hook calls a selected build partial (models did not run): it is a success
    _log(con, "selected", 1, "running", "partial")
    record(con, _results("selected"), inputs, selected=True)
    assert _statuses(con, "selected") == ["partial", "running", "success"]
    assert changed_tables(con, inputs) == []

    # a build that failed is recorded as nothing: the next one is whole
    con.execute(
        "insert into raw.dialpad_agent_status_events (event_hash, target_id, event_at, "
        "event_at_source, payload, source_file, source_line, load_id, loaded_at) "
        "values ('hash-status', 7, now(), 'event', '{}', 'status.ndjson', 1, 'l', now())"
    )
    inputs = _inputs(con)
    assert changed_tables(con, inputs) == [DIALPAD_AGENT_STATUS_EVENTS]
    _log(con, "failed", 2, "running", "failed")
    record(con, _results("failed"), inputs, selected=True)
    assert _statuses(con, "failed") == ["failed", "running"]
    assert changed_tables(con, inputs) is None


def test_a_partial_build_not_selected_by_callmart_is_not_recorded(
    built: duckdb.DuckDBPyConnection,
) -> None:
    con = built
    inputs = _load_leg(con, "leg-1")
    _log(con, "by-hand", 1, "running", "partial")  # dbt build --select ..., run by hand
    record(con, _results("by-hand"), inputs, selected=False)
    assert _statuses(con, "by-hand") == ["partial", "running"]
    assert changed_tables(con, inputs) is None


def test_other_settings_or_project_files_make_a_whole_build(
    built: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    con = built
    assert changed_tables(con, _inputs(con)) == []
    assert changed_tables(con, _inputs(con, {"interval_minutes": 15})) is None
    other = tmp_path / "project"
    (other / "models").mkdir(parents=True)
    (other / "dbt_project.yml").write_text("name: callmart\n")
    assert changed_tables(con, build_inputs(con, other, None)) is None
