"""A build runs what changed (ingest/build_inputs.py, docs/performance.md "A build runs what
changed"): with nothing new, marts.feed_health alone; after a load, the models of the raw tables
that got rows, the tables and feed_health, and the marts are those of a whole build. Other
settings, a latest build that did not end and `--full-refresh` (tests/test_test_scope.py) make
a whole build.

Each step starts from a copy of the bundled sample's warehouse, whose one build succeeded.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import MARTS, event, marts, write_lines

from ingest.cli import main
from ingest.publish import STORAGE_VERSION_NUMBER, published_path, storage_version_number

# a conversation the sample does not have: one leg, connected, then hung up a minute later
NEW_CALL = 9_100_000_000_001


def _build(db: Path, capsys: pytest.CaptureFixture[str], *options: str) -> dict[str, Any]:
    assert main(["build", "--json", "--db", str(db), *options]) == 0
    summary: dict[str, Any] = json.loads(capsys.readouterr().out)["build"]
    return summary


def _ran(*kinds: str) -> set[str]:
    """The names of the nodes of these kinds dbt ran in the last build (run_results.json)."""
    results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    return {
        r["unique_id"].split(".")[2]
        for r in results["results"]
        if r["unique_id"].startswith(tuple(f"{kind}." for kind in kinds))
    }


def _log_levels() -> Counter[str]:
    """The levels of the lines the last build wrote to dbt's log file (logs/dbt.log)."""
    invocation = _invocation()
    lines = (Path(os.environ["DBT_LOG_PATH"]) / "dbt.log").read_text().splitlines()
    infos = [json.loads(line)["info"] for line in lines if line.startswith("{")]
    return Counter(info["level"] for info in infos if info["invocation_id"] == invocation)


def _built_nodes() -> set[str]:
    """The models and seeds dbt ran in the last build."""
    return _ran("model", "seed")


def _health(path: Path) -> dict[str, tuple[Any, ...]]:
    sql = (
        "select provider, last_built_at, event_count, open_quarantine_count from marts.feed_health"
    )
    return {row[0]: row[1:] for row in _rows(path, sql)}


def _rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).fetchall()


def _comments(db: Path) -> dict[str, str]:
    """feed_health's column comments (its YAML descriptions)."""
    return dict(
        _rows(
            db,
            "select column_name, comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'feed_health' and comment is not null",
        )
    )


def _conversations(db: Path) -> set[str]:
    return {c for (c,) in _rows(db, "select conversation_id from marts.fct_conversations")}


def _interval_minutes(db: Path) -> set[int]:
    return {m for (m,) in _rows(db, "select interval_minutes from marts.agg_agent_interval")}


@pytest.fixture
def warehouse(sample_warehouse: Path, tmp_path: Path) -> Path:
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(sample_warehouse, db)
    return db


def test_nothing_new_rebuilds_feed_health_alone_and_keeps_every_other_mart(
    warehouse: Path,
    sample_warehouse: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = _health(sample_warehouse)

    summary = _build(warehouse, capsys)

    assert summary["nothing_new"] is True
    assert _built_nodes() == {"feed_health"}
    # dbt's log file at info (ingest/build.py, dbt_environment): its lines, no query texts
    levels = _log_levels()
    assert levels["info"] > 0 and levels["debug"] == 0
    assert summary["models"] == 1
    # feed_health's own data tests (generic ones are named after it), and no other
    tested = _ran("test")
    assert tested and all("feed_health" in name for name in tested)
    assert summary["tests_passed"] == len(tested)
    assert marts(warehouse) == marts(sample_warehouse)
    # the published file: feed_health replaced in a copy of it, still readable by DuckDB 1.1,
    # its columns still described, every other mart as before
    published = published_path(warehouse)
    assert storage_version_number(published) == STORAGE_VERSION_NUMBER
    assert marts(published) == marts(sample_warehouse)
    assert _comments(published) == _comments(sample_warehouse)
    assert len(_comments(published)) == 15  # docs/contract.md §10: every column described
    after = _health(published)  # the published file has the new feed_health
    assert after.keys() == before.keys()
    for provider, (built_at, *counts) in after.items():
        assert built_at > before[provider][0]
        assert counts == list(before[provider][1:])

    # a load that only quarantines (a line that is not JSON) adds no event: still nothing new
    # for the event models, and feed_health, built every time, counts the new open record
    assert main(["ingest", "--quiet", "--db", str(warehouse), str(_not_json(tmp_path))]) == 0
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the user's choice wins: queries logged
    summary = _build(warehouse, capsys)
    assert summary["nothing_new"] is True
    assert _health(warehouse)["unknown"][2] == before["unknown"][2] + 1
    assert _log_levels()["debug"] > 0
    monkeypatch.delenv("DBT_LOG_LEVEL_FILE")

    # a load of a new conversation: an incremental build that adds it
    new = write_lines(tmp_path / "new.ndjson", _conversation(NEW_CALL))
    assert main(["ingest", "--quiet", "--db", str(warehouse), str(new)]) == 0
    summary = _build(warehouse, capsys)
    assert summary["nothing_new"] is False
    assert {"fct_conversations", "agg_agent_interval", "feed_health"} <= _built_nodes()
    assert _health(warehouse)["dialpad"][1] == before["dialpad"][1] + 2
    assert _conversations(warehouse) == _conversations(sample_warehouse) | {str(NEW_CALL)}


# models fed by one raw table each (their sources, through dbt's lineage), and not tables
CALL_EVENT_MODELS = {"int_dialpad__call_events_ordered", "int_dialpad__legs_mapped"}
AGENT_STATUS_MODELS = {"int_dialpad__agent_status_intervals"}
MESSAGEBIRD_MODELS = {"stg_messagebird__calls", "stg_messagebird__legs", "int_messagebird__legs_with_roles"}  # fmt: skip
SEEDS = {"call_center_business_hours", "call_center_holidays", "dialpad_call_states"}
# built by every build that is not one with nothing new: the change sets, aggregates, feed_health
TABLES = {"int_messagebird__calls_to_rebuild", "int_dialpad__agents_to_rebuild", "agg_agent_daily", "feed_health"}  # fmt: skip


def test_a_build_runs_the_models_of_the_raw_tables_that_got_rows(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _rows(warehouse, "select count(*) from raw.messagebird_legs") != [(0,)]  # both feeds

    # Dialpad call events alone: MessageBird's and the agent status models are kept, and the
    # seeds (the same project); the build is the build log's latest success
    new = write_lines(tmp_path / "new.ndjson", _conversation(NEW_CALL))
    assert main(["ingest", "--quiet", "--db", str(warehouse), str(new)]) == 0
    summary = _build(warehouse, capsys)
    assert summary["nothing_new"] is False
    assert summary["unchanged_sources"] == [
        "raw.dialpad_agent_status_events", "raw.messagebird_calls", "raw.messagebird_legs"
    ]  # fmt: skip
    built = _built_nodes()
    assert built >= CALL_EVENT_MODELS | TABLES
    assert not built & (AGENT_STATUS_MODELS | MESSAGEBIRD_MODELS | SEEDS)
    assert not _tested(AGENT_STATUS_MODELS | MESSAGEBIRD_MODELS | SEEDS)
    assert _conversations(warehouse) >= {str(NEW_CALL)}
    assert _latest_success(warehouse) == _invocation()

    # a MessageBird leg alone: Dialpad's models are kept
    leg = {
        "id": "leg-new", "callId": "call-new", "status": "hangup", "direction": "incoming",
        "source": "31612345678", "destination": "31201234567",
        "createdAt": "2026-03-02T10:00:00Z", "updatedAt": "2026-03-02T10:05:00Z",
        "answeredAt": "2026-03-02T10:00:05Z", "endedAt": "2026-03-02T10:05:00Z",
    }  # fmt: skip
    legs = write_lines(tmp_path / "mb.ndjson", [leg])
    assert main(["ingest", "--quiet", "--db", str(warehouse), str(legs)]) == 0
    summary = _build(warehouse, capsys)
    assert summary["unchanged_sources"] == [
        "raw.dialpad_call_events", "raw.dialpad_agent_status_events", "raw.messagebird_calls"
    ]  # fmt: skip
    built = _built_nodes()
    assert built >= {"stg_messagebird__legs", "int_messagebird__legs_with_roles", *TABLES}
    dialpad = CALL_EVENT_MODELS | AGENT_STATUS_MODELS
    assert not built & (dialpad | SEEDS | {"stg_messagebird__calls"})
    assert not _tested(dialpad | SEEDS)
    assert ("messagebird", "leg-new") in _rows(
        warehouse, "select provider, leg_id from marts.fct_call_legs"
    )
    assert _latest_success(warehouse) == _invocation()

    # every mart as a whole build of the same raw rows makes it (a copy, --full-refresh)
    whole = tmp_path / "whole" / warehouse.name
    whole.parent.mkdir()
    shutil.copy(warehouse, whole)
    assert _build(whole, capsys, "--full-refresh")["unchanged_sources"] == []
    assert marts(warehouse) == marts(whole)


def _tested(models: set[str]) -> set[str]:
    """The data tests on any of `models` (attached to it) that the last build ran."""
    target = Path(os.environ["DBT_TARGET_PATH"])
    nodes = json.loads((target / "manifest.json").read_text())["nodes"]
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        result["unique_id"]
        for result in results
        if str(nodes[result["unique_id"]].get("attached_node")).split(".")[-1] in models
    }


def _invocation() -> str:
    """The last build's invocation id (run_results.json)."""
    target = Path(os.environ["DBT_TARGET_PATH"])
    return str(json.loads((target / "run_results.json").read_text())["metadata"]["invocation_id"])


def _latest_success(db: Path) -> str:
    """The build the next one reads "new" from: the build log's latest success."""
    sql = (
        "select invocation_id from intermediate.build_log where status = 'success' "
        "order by started_at desc limit 1"
    )
    return str(_rows(db, sql)[0][0])


def test_other_settings_and_a_build_that_did_not_end_make_a_whole_build(
    warehouse: Path, sample_warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _interval_minutes(sample_warehouse) == {30}  # the default grain

    # other settings: the models that read them are rebuilt with them
    quarter = ["--vars", "{interval_minutes: 15}"]
    assert _build(warehouse, capsys, *quarter)["nothing_new"] is False
    assert _interval_minutes(warehouse) == {15}
    # the same settings again: nothing new
    assert _build(warehouse, capsys, *quarter)["nothing_new"] is True

    # the latest build did not end (killed: its build log row says `running`, and callmart
    # recorded nothing for it): a whole build, though no raw row and no setting changed
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "insert into intermediate.build_log (invocation_id, command, started_at, status) "
            "select 'killed', 'build', max(started_at) + interval 1 second, 'running' "
            "from intermediate.build_log"
        )
    assert _build(warehouse, capsys, *quarter)["nothing_new"] is False
    assert len(_built_nodes()) > len(MARTS)
    # --full-refresh always builds whole: tests/test_test_scope.py, after a build with nothing new


def _not_json(folder: Path) -> Path:
    return write_lines(folder / "garbled.ndjson", ["this is not a payload"])


def _conversation(call_id: int) -> list[dict[str, Any]]:
    started = 1_772_400_000_000  # 2026-03-01 21:20 UTC, inside the sample's days
    common = {"direction": "inbound", "date_started": started, "date_connected": started + 5_000}
    return [
        event(call_id, "connected", event_timestamp=started + 5_000, **common),
        event(
            call_id,
            "hangup",
            date_ended=started + 60_000,
            event_timestamp=started + 60_000,
            **common,
        ),
    ]
