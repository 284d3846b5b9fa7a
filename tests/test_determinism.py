"""A result depends on the events loaded, nothing else (docs/contract.md §3 "Order"; issue 12, point 10).

The bundled sample once failed `callmart run` (offer 6590994898670620 with speed_to_answer_ms
-961742) and passed in other runs. What the result depended on was *which* events had been
loaded, not their order: with the sample's JWT records quarantined (a $DIALPAD_WEBHOOK_SECRET
that is not the sample's, or a JWT file loaded before its secret was configured) operator leg
6478469498983029 had no live `connected` or `hangup` event, so its connected and ended times
came from its post-call `recording` event, which carries another call's dates (2021-style
"conflicting history", docs/contract.md §3): the leg connected before it started, the offer was
answered 16 minutes before its wait began, and an `error` test stopped the build. Batches that
bring post-call events before the live ones did the same. Now a post-call event whose
date_started differs from the live events' never lends its dates to the leg, a duration that
comes out negative is null (docs/contract.md §9), and such vendor data is a warning, not a failed build.

1. Physical row order and dbt's thread count: the sample's raw rows rewritten in reverse
   order, built with one thread, give every mart the sample's own build (two threads) gives.
2. The reported batches: every post-call record first; then everything but the JWT records
   (the state of the failed run); then the JWT records. Every build passes, the intermediate
   states are worked out by hand, and the end is the one-batch build.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import jwt
from conftest import MARTS, landing_records, write_lines

from ingest.build import DBT_CLI, dbt_environment, project_dir
from ingest.cli import main

SAMPLE = Path(__file__).parent.parent / "ingest" / "sample"
POST_CALL_STATES = frozenset(
    {
        "voicemail_uploaded", "transcription", "recording", "postcall", "admin_recording",
        "call_transcription", "dispositions", "csat", "pcsat", "recap_summary", "recap_outcome",
        "recap_purposes", "recap_action_items", "ai_playbook",
    }
)  # fmt: skip
# feed_health's load and build times differ from one build to the next by nature
HEALTH = (
    "provider, data_watermark_at, event_count, conversation_count, open_quarantine_count, "
    "failed_file_count, pending_line_count, open_leg_count, end_inferred_leg_count, "
    "reference_only_leg_count, estimated_time_interval_count, negative_duration_count, "
    "implausible_time_count"
)


def _marts(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in MARTS}
        tables["feed_health"] = con.execute(
            f"select {HEALTH} from marts.feed_health order by all"
        ).fetchall()
    return tables


def _assert_same_marts(got: Path, want: Path) -> None:
    mine, theirs = _marts(got), _marts(want)
    for table, rows in theirs.items():
        missing = [row for row in rows if row not in mine[table]]
        extra = [row for row in mine[table] if row not in rows]
        assert (table, missing[:3], extra[:3]) == (table, [], []), table
        assert len(mine[table]) == len(rows), table


def _at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def test_physical_row_order_and_threads_do_not_change_the_marts(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    db = tmp_path / "reversed.duckdb"
    shutil.copy(sample_warehouse, db)
    with duckdb.connect(str(db)) as con:
        for schema in ("staging", "intermediate", "marts"):  # a first build, from raw alone
            con.execute(f"drop schema if exists {schema} cascade")
        for table, identity in (
            ("dialpad_call_events", "event_hash"),
            ("messagebird_calls", "object_hash"),
            ("messagebird_legs", "object_hash"),
        ):
            con.execute(
                f"create temp table reordered as select * from raw.{table} "
                f"order by {identity} desc, loaded_at desc"
            )
            con.execute(f"delete from raw.{table}")
            con.execute(f"insert into raw.{table} select * from reordered")
            con.execute("drop table reordered")
    project = project_dir()
    command = ["build", "--threads", "1", "--quiet", "--exclude-resource-type", "unit_test"]
    command += ["--project-dir", str(project), "--profiles-dir", str(project)]
    env = {**dbt_environment(), "CALLMART_DB": str(db)}
    completed = subprocess.run([sys.executable, "-c", DBT_CLI, *command], env=env, check=False)
    assert completed.returncode == 0

    _assert_same_marts(db, sample_warehouse)


def _payload(record: str) -> dict[str, Any] | None:
    """The Dialpad payload a landing record carries (JWT claims unverified), if any."""
    try:
        value: Any = json.loads(record)
    except json.JSONDecodeError:
        value = record
    if isinstance(value, dict) and "payload" in value:
        value = value["payload"]
    if isinstance(value, str):
        try:
            value = jwt.decode(value, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
    return value if isinstance(value, dict) and "call_id" in value else None


def _is_jwt(record: str) -> bool:
    try:
        value: Any = json.loads(record)
    except json.JSONDecodeError:
        return True  # a bare JWT line (or a line that is not JSON at all, quarantined anyway)
    return isinstance(value, dict) and isinstance(value.get("payload"), str)


def _one(db: Path, sql: str) -> tuple[Any, ...]:
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(sql).fetchone()
    assert row is not None, sql
    return row


def test_post_call_events_first_and_jwt_records_last_build_and_end_the_same(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    records = landing_records(SAMPLE / "landing")
    is_post_call = [(_payload(r) or {}).get("state") in POST_CALL_STATES for r in records]
    post_call = [r for r, flag in zip(records, is_post_call, strict=True) if flag]
    rest = [r for r, flag in zip(records, is_post_call, strict=True) if not flag]
    batches = [post_call, [r for r in rest if not _is_jwt(r)], [r for r in rest if _is_jwt(r)]]
    assert sum(map(len, batches)) == len(records) and all(batches)
    db, secret = tmp_path / "batched.duckdb", str(SAMPLE / "jwt_secret.txt")

    def run(number: int) -> None:
        batch = write_lines(tmp_path / f"batch{number}.ndjson", batches[number])
        assert (
            main(["run", "--quiet", "--db", str(db), "--jwt-secret-file", secret, str(batch)]) == 0
        )

    # 1. post-call events only. Entry point 6444409178408204 has no live event yet: its dates
    # are its post-call events' (the recording's shifted ones among them: started 22:24:06.807,
    # connected 22:24:19.742; date_first_rang 22:41:46.021 is not shifted). It waits from that
    # first ring, after the answer: the speed to answer and the wait are unknown (null), not
    # -1 046 279 ms, and the build passes.
    run(0)
    assert _one(
        db,
        "select answered_at, wait_start_at, speed_to_answer_ms, wait_ms "
        "from marts.fct_call_center_offers where offer_id = '6444409178408204'",
    ) == (_at("2026-03-02 22:24:19.742"), _at("2026-03-02 22:41:46.021"), None, None)

    # 2. Everything but the JWT records: the state of the failed run. Operator leg
    # 6478469498983029's live connected and hangup events are JWT records: it has only its
    # preanswer and ringing (started 11:29:05.241) and a recording whose date_started
    # (11:09:28.544) is another call's. None of the recording's dates is the leg's: it never
    # connected, and its entry point 6590994898670620, which connected at 11:29:20.072 and
    # names it as operator, answered the offer itself: 215 676 ms after its wait began at the
    # queued event (11:25:44.396), where the failed run had -961 742.
    run(1)
    assert _one(
        db,
        "select started_at, connected_at from marts.fct_call_legs "
        "where leg_id = '6478469498983029'",
    ) == (_at("2026-03-03 11:29:05.241"), None)
    assert _one(
        db,
        "select answered_at, answering_leg_id, wait_start_at, speed_to_answer_ms "
        "from marts.fct_call_center_offers where offer_id = '6590994898670620'",
    ) == (
        _at("2026-03-03 11:29:20.072"),
        "6590994898670620",
        _at("2026-03-03 11:25:44.396"),
        215676,
    )

    # 3. The JWT records: every mart as the one-batch build of the same records has it.
    run(2)
    _assert_same_marts(db, sample_warehouse)
