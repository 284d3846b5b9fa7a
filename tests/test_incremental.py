"""Incremental builds equal full builds (docs/performance.md, "Incremental builds"): random
batches.

Simulated traffic of both providers, shuffled and cut into random batches (with copies of
earlier records, and copies received earlier, in later batches), goes through `callmart run`
batch after batch; every mart must then equal, row for row, one build of all the batches in
another warehouse. A batch of a random cut can hold half a call, so an intermediate build may
fail an error-severity data test (a contract invariant the half call breaks); the next build
then reprocesses everything since the last successful one, and the last build must pass.

The late events, by hand, are tests/test_incremental_late.py (a file of its own, so that a
second pytest worker builds them while this one runs its batches).
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import pytest
from conftest import MARTS, assert_marts_equal, landing_records, run, write_lines

from ingest.sample import write_sample

__all__ = ["MARTS", "random_batches"]  # MARTS: tests/test_determinism.py imports it from here


def _only_data_tests_failed() -> bool:
    """The last build failed on data tests alone (no model errored)."""
    results = Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json"
    statuses = [
        (r["unique_id"].split(".")[0], r["status"])
        for r in json.loads(results.read_text())["results"]
    ]
    failed = [(kind, status) for kind, status in statuses if status in ("error", "fail")]
    return bool(failed) and all(kind == "test" and status == "fail" for kind, status in failed)


def _received_earlier(record: str) -> str | None:
    """A copy of a Dialpad record in an envelope received before any copy so far, if it is one.

    The ingest keeps the earliest received copy: it rewrites the stored event's received_at,
    event time (when the event has no event_timestamp), lineage and loaded_at.
    """
    try:
        value = json.loads(record)
    except json.JSONDecodeError:
        value = record  # a JWT line
    received_at = None
    if isinstance(value, dict) and "payload" in value:
        received_at, value = value.get("received_at"), value["payload"]
    if isinstance(value, dict) and not ("call_id" in value and "state" in value):
        return None  # a MessageBird object, or not a Dialpad payload at all
    if not isinstance(value, dict | str):
        return None
    if isinstance(received_at, int):
        earlier = received_at - 60_000
    elif isinstance(value, dict) and isinstance(value.get("date_started"), int):
        earlier = value["date_started"] + 1_000
    else:
        return None
    return json.dumps({"received_at": earlier, "payload": value})


def random_batches(records: list[str], count: int, rng: random.Random) -> list[list[str]]:
    """Shuffled records cut at random; later batches also redeliver some earlier records."""
    records = records[:]
    rng.shuffle(records)
    cuts = sorted(rng.sample(range(1, len(records)), count - 1))
    bounds = [0, *cuts, len(records)]
    batches = [records[first:last] for first, last in zip(bounds, bounds[1:], strict=False)]
    for number in range(1, count):
        earlier = [record for batch in batches[:number] for record in batch]
        batches[number] += rng.sample(earlier, min(40, len(earlier)))
        batches[number] += [
            copy
            for copy in map(_received_earlier, rng.sample(earlier, min(40, len(earlier))))
            if copy is not None
        ]
        rng.shuffle(batches[number])
    return batches


@pytest.mark.parametrize(("seed", "events", "batch_count"), [(21, 1500, 4)])
def test_random_batches_build_the_same_marts_as_one_build(
    tmp_path: Path, seed: int, events: int, batch_count: int
) -> None:
    write_sample(tmp_path / "traffic", events=events, seed=seed)
    secret = tmp_path / "traffic" / "jwt_secret.txt"
    batches = random_batches(
        landing_records(tmp_path / "traffic" / "landing"), batch_count, random.Random(seed)
    )
    paths = [
        write_lines(tmp_path / "batches" / f"batch{number}.ndjson", batch)
        for number, batch in enumerate(batches)
    ]

    whole = tmp_path / "whole.duckdb"
    assert run(whole, *paths, secret_file=secret) == 0

    batched = tmp_path / "batched.duckdb"
    for number, path in enumerate(paths):
        status = run(batched, path, secret_file=secret)
        last = number == len(paths) - 1
        assert status == 0 or (not last and _only_data_tests_failed()), number

    assert_marts_equal(batched, whole)
