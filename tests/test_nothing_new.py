"""A build with nothing new builds marts.feed_health alone (ingest/build_inputs.py,
docs/performance.md "A build with nothing new"); anything that can change another model's
rows makes a whole build: a load of events, other settings, a latest build that did not end,
`--full-refresh` (tests/test_test_scope.py).

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
    target = Path(os.environ["DBT_TARGET_PATH"])
    invocation = json.loads((target / "run_results.json").read_text())["metadata"]["invocation_id"]
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

    # a load of a new conversation: a whole (incremental) build that adds it
    new = write_lines(tmp_path / "new.ndjson", _conversation(NEW_CALL))
    assert main(["ingest", "--quiet", "--db", str(warehouse), str(new)]) == 0
    summary = _build(warehouse, capsys)
    assert summary["nothing_new"] is False
    assert {"fct_conversations", "agg_agent_interval", "feed_health"} <= _built_nodes()
    assert _health(warehouse)["dialpad"][1] == before["dialpad"][1] + 2
    assert _conversations(warehouse) == _conversations(sample_warehouse) | {str(NEW_CALL)}


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
