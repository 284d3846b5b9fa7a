"""marts.feed_health on the bundled sample (docs/contract.md §10; issue 12, point 9).

Every count is worked out from the sample's own expected results (ingest/sample/_expected/:
summary.json, legs.ndjson, conversations.ndjson, scenarios.ndjson), read here, so that a
regenerated sample keeps the test right. The rules behind each column are in
models/marts/health/feed_health.yml; a hand-worked dbt unit test beside it pins them on
given raw rows (quarantine, pending lines, copies).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.publish import published_path

EXPECTED = Path(__file__).parent.parent / "ingest" / "sample" / "_expected"


def _ndjson(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (EXPECTED / name).read_text().splitlines() if line]


def _instant(unix_ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(unix_ms / 1000, dt.UTC).replace(tzinfo=None)


@pytest.fixture(scope="module")
def health(sample_warehouse: Path) -> dict[str, dict[str, Any]]:
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        cursor = con.execute("select * from marts.feed_health")
        names = [column[0] for column in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def test_one_row_per_provider_with_raw_data_and_one_for_the_unknown(
    health: dict[str, dict[str, Any]],
) -> None:
    summary = json.loads((EXPECTED / "summary.json").read_text())
    providers = {name for name, counts in summary["providers"].items() if counts}
    # the sample quarantines lines that are not JSON: nobody can tell their provider
    assert summary["quarantined_by_reason"].get("not_json", 0) > 0
    assert set(health) == providers | {"unknown"}


def test_raw_counts_and_watermarks_follow_the_sample(health: dict[str, dict[str, Any]]) -> None:
    summary = json.loads((EXPECTED / "summary.json").read_text())
    dialpad, messagebird = summary["providers"]["dialpad"], summary["providers"]["messagebird"]

    assert health["dialpad"]["event_count"] == dialpad["distinct_events"]
    assert health["messagebird"]["event_count"] == messagebird["distinct_objects"]
    assert health["unknown"]["event_count"] == 0
    assert health["dialpad"]["data_watermark_at"] == _instant(summary["watermark_at"])
    assert health["messagebird"]["data_watermark_at"] == _instant(messagebird["watermark_at"])
    assert health["unknown"]["data_watermark_at"] is None
    # the simulator sends no time outside the plausible window
    assert {row["implausible_time_count"] for row in health.values()} == {0}


def test_quarantine_and_pending_follow_the_sample(health: dict[str, dict[str, Any]]) -> None:
    summary = json.loads((EXPECTED / "summary.json").read_text())
    # every quarantined record is still open (nothing retried), attributed to one row
    assert sum(row["open_quarantine_count"] for row in health.values()) == summary["quarantined"]
    # a line that is not JSON has no provider: those are the unknown row's, at least
    assert (
        health["unknown"]["open_quarantine_count"] >= summary["quarantined_by_reason"]["not_json"]
    )
    # every file of the sample reads whole: no failed file, no line left pending
    assert {row["failed_file_count"] for row in health.values()} == {0}
    assert {row["pending_line_count"] for row in health.values()} == {0}


def test_conversation_and_leg_counts_follow_the_expected_marts(
    health: dict[str, dict[str, Any]],
) -> None:
    conversations = Counter(row["provider"] for row in _ndjson("conversations.ndjson"))
    legs = _ndjson("legs.ndjson")
    open_legs = Counter(
        leg["provider"] for leg in legs if leg["ended_at"] is None and not leg["is_end_inferred"]
    )
    inferred = Counter(leg["provider"] for leg in legs if leg["is_end_inferred"])
    # a leg known only by reference: the operator leg whose events never arrive (one per
    # conversation with that quirk; its entry point names it)
    reference_only = sum(
        "operator_events_missing" in scenario["quirks"] for scenario in _ndjson("scenarios.ndjson")
    )
    for provider in ("dialpad", "messagebird"):
        row = health[provider]
        assert row["conversation_count"] == conversations[provider]
        assert row["open_leg_count"] == open_legs[provider]
        assert row["end_inferred_leg_count"] == inferred[provider]
    assert health["dialpad"]["reference_only_leg_count"] == reference_only > 0
    assert health["messagebird"]["reference_only_leg_count"] == 0
    for column in ("conversation_count", "open_leg_count", "reference_only_leg_count"):
        assert health["unknown"][column] == 0


def test_estimated_intervals_follow_the_unknown_holds(
    sample_warehouse: Path, health: dict[str, dict[str, Any]]
) -> None:
    # The simulator's only event times that are estimates (fallback times other than a leg's
    # own dates) are its deliberate unknown holds (ingest/sample/_expected.py): a connected agent
    # leg with a talk but no hold. Each such hold event starts one estimated interval (the
    # hold) and ends another (the one before it).
    unknown_holds = sum(
        leg["provider"] == "dialpad" and leg["talk_ms"] is not None and leg["hold_ms"] is None
        for leg in _ndjson("legs.ndjson")
    )
    assert health["dialpad"]["estimated_time_interval_count"] == 2 * unknown_holds > 0
    # MessageBird's estimated intervals (lost snapshots) have no expected timeline in the
    # sample: the count only has to be the mart's
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        (estimated,) = con.execute(
            "select count(*) from marts.fct_leg_states "
            "where provider = 'messagebird' and is_time_estimated"
        ).fetchone()
    assert health["messagebird"]["estimated_time_interval_count"] == estimated


def test_negative_durations_count_the_vendor_clock_errors(
    health: dict[str, dict[str, Any]],
) -> None:
    # Each leg that ended before it was answered (MessageBird's own example) nulls, once each:
    # its talk, its answered state's interval, and the wait of its conversation when that is
    # inbound and complete (docs/contract.md §9; docs/metrics.md "Impossible times").
    conversations = {
        (row["provider"], row["conversation_id"]): row for row in _ndjson("conversations.ndjson")
    }
    expected: Counter[str] = Counter()
    for leg in _ndjson("legs.ndjson"):
        times = (leg["connected_at"], leg["ended_at"])
        if None not in times and leg["ended_at"] < leg["connected_at"]:
            conversation = conversations[(leg["provider"], leg["conversation_id"])]
            expected[leg["provider"]] += 2
            if conversation["direction"] == "inbound" and conversation["is_complete"]:
                assert conversation["wait_ms"] is None
                expected[leg["provider"]] += 1
    summary = json.loads((EXPECTED / "summary.json").read_text())
    assert sum(expected.values()) >= 2 * summary["providers"]["messagebird"]["clock_error_legs"]
    for provider in ("dialpad", "messagebird", "unknown"):
        assert health[provider]["negative_duration_count"] == expected[provider], provider


def test_times_of_the_load_and_the_build(health: dict[str, dict[str, Any]]) -> None:
    built = {row["last_built_at"] for row in health.values()}
    assert len(built) == 1 and None not in built  # one build, one time
    (built_at,) = built
    for row in health.values():
        assert row["last_loaded_at"] is not None
        assert row["last_loaded_at"] <= built_at


def test_feed_health_is_published_with_the_marts(
    sample_warehouse: Path, health: dict[str, dict[str, Any]]
) -> None:
    with duckdb.connect(str(published_path(sample_warehouse)), read_only=True) as con:
        (rows,) = con.execute("select count(*) from marts.feed_health").fetchone()
    assert rows == len(health)
