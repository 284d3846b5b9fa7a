"""The README's analyst questions run, as written, against the bundled sample warehouse.

The SQL is read from the README itself (the fenced ```sql blocks under "## Questions,
answered in SQL"), so the documentation cannot drift from what works. Each query must return
the columns listed here and at least one row; a few answers are checked against values worked
out from the simulator's own expected rows (ingest/sample/_expected), not from the marts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.cli import SAMPLE_DIR

README = Path(__file__).resolve().parent.parent / "README.md"
HEADING = "## Questions, answered in SQL"

COLUMNS = {
    1: ["answered_conversations", "transferred_conversations", "transfers", "transferred_share"],
    2: ["conversation_id", "started_at", "transfer_count", "agent_count", "first_agent_name", "last_agent_name"],
    3: ["conversation_id", "started_at", "hold_s", "talk_s", "last_agent_name"],
    4: ["hour_start_local", "call_center_name", "offered_count", "answered_count", "abandoned_count", "service_level", "abandonment_rate", "asa_s"],
    5: ["reporting_date", "call_center_name", "offered", "service_level", "asa_s", "abandonment_rate", "aht_s", "transfer_rate"],
    6: ["agent_name", "handled_legs", "aht_s", "avg_hold_s", "transfer_rate"],
    7: ["agent_name", "conversations", "fcr_rate", "missed_rings", "avg_answer_delay_s"],
    8: ["call_center_name", "abandoned_offers", "abandoned_after_ring", "avg_wait_s", "longest_wait_s"],
    9: ["contact_number", "started_at", "outcome", "previous_started_at", "previous_agent"],
    10: ["call_center_name", "offered", "offered_after_hours", "service_level", "service_level_in_hours"],
    11: ["agent_name", "handled_legs", "aht_s", "aht_without_acw_s", "avg_acw_s"],
    12: ["interval_start_local", "agents_staffed", "staffed_h", "occupancy"],
}  # fmt: skip


def readme_queries() -> dict[int, str]:
    """The numbered SQL blocks of the README's analyst section: {number: sql}."""
    text = README.read_text()
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    queries = {}
    for block in re.findall(r"```sql\n(.*?)```", section, re.DOTALL):
        match = re.match(r"-- (\d+)\. ", block)
        assert match, f"an analyst query must start with '-- N. question': {block[:60]!r}"
        queries[int(match.group(1))] = block
    return queries


def _expected(name: str) -> list[dict[str, Any]]:
    path = SAMPLE_DIR / "_expected" / name
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def answers(sample_warehouse: Path) -> dict[int, list[dict[str, Any]]]:
    """Every README query's rows on the sample warehouse built by `callmart run`."""
    results: dict[int, list[dict[str, Any]]] = {}
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        for number, sql in readme_queries().items():
            cursor = con.execute(sql)
            names = [d[0] for d in cursor.description]
            assert names == COLUMNS[number], f"question {number} returns {names}"
            results[number] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return results


def test_the_readme_asks_twelve_numbered_questions() -> None:
    assert sorted(readme_queries()) == list(range(1, 13))


@pytest.mark.parametrize("number", range(1, 13))
def test_every_question_returns_its_columns_and_rows(
    answers: dict[int, list[dict[str, Any]]], number: int
) -> None:
    assert answers[number], f"question {number} returned no row on the sample"


def test_transfer_share_matches_the_simulator(answers: dict[int, list[dict[str, Any]]]) -> None:
    answered = [row for row in _expected("conversations.ndjson") if row["outcome"] == "answered"]
    (row,) = answers[1]
    assert row["answered_conversations"] == len(answered)
    assert row["transferred_conversations"] == sum(1 for r in answered if r["transfer_count"] > 0)
    assert row["transfers"] == sum(r["transfer_count"] for r in answered)


def test_first_and_last_agents_of_transferred_calls_match_the_simulator(
    answers: dict[int, list[dict[str, Any]]],
) -> None:
    expected = {
        (r["conversation_id"], r["first_agent_name"], r["last_agent_name"])
        for r in _expected("conversations.ndjson")
        if r["transfer_count"] > 0
    }
    actual = {
        (r["conversation_id"], r["first_agent_name"], r["last_agent_name"]) for r in answers[2]
    }
    assert actual == expected


def test_longest_holds_match_the_simulator(answers: dict[int, list[dict[str, Any]]]) -> None:
    holds = sorted(
        (r["hold_ms"] for r in _expected("conversations.ndjson") if r["hold_ms"]), reverse=True
    )
    assert [float(r["hold_s"]) for r in answers[3]] == [ms / 1000 for ms in holds[:10]]


def test_hourly_offers_count_every_call_center_offer(
    answers: dict[int, list[dict[str, Any]]],
) -> None:
    entry_points = [r for r in _expected("legs.ndjson") if r["leg_role"] == "entry_point"]
    assert sum(r["offered_count"] for r in answers[4]) == len(entry_points)


def test_repeat_contacts_match_a_hand_count(answers: dict[int, list[dict[str, Any]]]) -> None:
    """A repeat: the same provider's same number called (or was called) at most 7 UTC calendar
    days before."""
    by_contact: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in _expected("conversations.ndjson"):
        if row["contact_number"]:
            by_contact.setdefault((row["provider"], row["contact_number"]), []).append(row)
    expected = set()
    for (_, number), rows in by_contact.items():
        rows.sort(key=lambda r: (r["started_at"], r["conversation_id"]))
        for previous, current in zip(rows, rows[1:], strict=False):
            days = (_utc_date(current["started_at"]) - _utc_date(previous["started_at"])).days
            if days <= 7:
                expected.add((number, current["started_at"]))
    actual = {
        (r["contact_number"], int(r["started_at"].replace(tzinfo=UTC).timestamp() * 1000))
        for r in answers[9]
    }
    assert actual == expected


def _utc_date(epoch_ms: int) -> Any:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).date()
