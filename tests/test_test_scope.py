"""Data tests read the rows a build wrote (macros/test_scope.sql, docs/performance.md
"Incremental builds"): an incremental build tests the keys it recomputed, so a violation in
a new row is still found and one in a row it left alone is not read again; a whole build
(the first one, `--full-refresh`, even after a build with nothing new) tests every row.

The violation is vendor data a warn-severity test counts: a conversation whose direction is
neither inbound nor outbound (fct_conversations' accepted_values), so every build succeeds
and run_results.json says how many rows each test read as failing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from conftest import event, write_lines

from ingest.cli import main

DIRECTION_TEST = "test.callmart.accepted_values_fct_conversations_direction"


def _leg(call_id: int, direction: str, minute: int) -> list[dict[str, object]]:
    """A complete one-leg conversation: connected, then hung up a minute later."""
    started = 1_700_000_000_000 + minute * 60_000
    return [
        event(
            call_id,
            "connected",
            direction=direction,
            date_started=started,
            date_connected=started + 5_000,
            event_timestamp=started + 5_000,
        ),
        event(
            call_id,
            "hangup",
            direction=direction,
            date_started=started,
            date_connected=started + 5_000,
            date_ended=started + 60_000,
            event_timestamp=started + 60_000,
        ),
    ]


def _direction_warnings() -> tuple[str, int] | None:
    """The status of the direction test in the last build, and the rows it failed on (None
    when the build did not run it)."""
    results = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json").read_text())
    ran = [r for r in results["results"] if r["unique_id"].startswith(DIRECTION_TEST)]
    assert len(ran) <= 1
    return (ran[0]["status"], ran[0]["failures"] or 0) if ran else None


def test_an_incremental_build_tests_its_own_rows_and_a_full_refresh_every_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "warehouse.duckdb"
    first = write_lines(
        tmp_path / "first.ndjson", [*_leg(1001, "sideways", 0), *_leg(2001, "inbound", 10)]
    )
    second = write_lines(
        tmp_path / "second.ndjson", [*_leg(3001, "diagonal", 20), *_leg(4001, "outbound", 30)]
    )

    # a first build is whole: the one conversation of batch 1 that breaks the rule
    assert main(["run", "--quiet", "--db", str(db), str(first)]) == 0
    assert _direction_warnings() == ("warn", 1)

    # incremental: the new conversation that breaks the rule is found, and 1001's stored row
    # (not recomputed) is not read again
    assert main(["run", "--quiet", "--db", str(db), str(second)]) == 0
    assert _direction_warnings() == ("warn", 1)

    # nothing new: feed_health alone is built (ingest/build_inputs.py), no other test runs
    assert main(["build", "--quiet", "--db", str(db)]) == 0
    assert _direction_warnings() is None

    # --full-refresh tests every row: both conversations that break the rule
    assert main(["build", "--quiet", "--full-refresh", "--db", str(db)]) == 0
    assert _direction_warnings() == ("warn", 2)
