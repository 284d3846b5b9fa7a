"""Shared fixtures: a fresh warehouse per test, and helpers to write landing files."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import duckdb
import jwt
import pytest

from ingest.cli import main

SECRET = "test-secret-0123456789abcdef0123456789"
FIXTURES = Path(__file__).parent / "fixtures"


def event(call_id: Any = 1001, state: str = "hangup", **fields: Any) -> dict[str, Any]:
    """A small Dialpad payload; `event_timestamp` defaults to a fixed instant."""
    payload: dict[str, Any] = {
        "call_id": call_id,
        "state": state,
        "direction": "inbound",
        "date_started": 1_700_000_000_000,
        "event_timestamp": 1_700_000_001_000,
    }
    payload.update(fields)
    return {k: v for k, v in payload.items() if v is not _ABSENT}


_ABSENT = object()
ABSENT = _ABSENT


def sign(payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=algorithm)


def write_lines(path: Path, lines: Iterable[str | dict[str, Any]]) -> Path:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def landing_records(landing: Path) -> list[str]:
    """Every record of the landing files as one text each (array elements as their own)."""
    records: list[str] = []
    for path in sorted(landing.iterdir()):
        raw = path.read_bytes()
        text = (gzip.decompress(raw) if path.name.endswith(".gz") else raw).decode()
        if ".json" in path.name and ".jsonl" not in path.name:
            records.extend(
                element if isinstance(element, str) else json.dumps(element)
                for element in json.loads(text)
            )
        else:
            records.extend(line for line in text.splitlines() if line.strip())
    return records


# The marts the incremental tests compare (tests/test_incremental.py,
# tests/test_incremental_late.py, the Spark parity tests): every mart but feed_health, whose
# load and build times differ from build to build (tests/test_feed_health.py).
MARTS = (
    "fct_conversations",
    "fct_call_legs",
    "fct_leg_states",
    "dim_agents",
    "fct_call_center_offers",
    "agg_call_center_hourly",
    "agg_agent_daily",
    "fct_agent_status_intervals",
    "agg_agent_interval",
)


def run(db: Path, *paths: Path, secret_file: Path | None = None) -> int:
    """`callmart run` in-process on the landing files `paths`; returns the exit status."""
    secret = ["--jwt-secret-file", str(secret_file)] if secret_file else []
    return main(["run", "--quiet", "--db", str(db), *secret, *map(str, paths)])


def marts(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each of MARTS, sorted; the warehouse has no other mart but feed_health."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        # feed_health (docs/contract.md §10) holds load and build times: tests/test_feed_health.py
        assert tables == {*MARTS, "feed_health"}
        return {t: con.execute(f"select * from marts.{t} order by all").fetchall() for t in MARTS}


def assert_marts_equal(batched: Path, whole: Path) -> None:
    """The two warehouses hold the same rows in each of MARTS."""
    got, want = marts(batched), marts(whole)
    for table in MARTS:
        missing = [row for row in want[table] if row not in got[table]]
        extra = [row for row in got[table] if row not in want[table]]
        assert (table, missing[:3], extra[:3]) == (table, [], []), table
        assert len(got[table]) == len(want[table]), table


@pytest.fixture(scope="session", autouse=True)
def _dbt_artifacts_apart(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One state folder per pytest worker (each has its own temporary folders): every build
    of the worker reuses one partial parse (about 5 s instead of a full 13 s parse), and two
    workers never write one target/. DBT_TARGET_PATH and DBT_LOG_PATH name the same folders
    as `callmart build` would derive from $CALLMART_STATE_DIR, for the tests that run dbt
    themselves or read its artifacts."""
    folder = tmp_path_factory.mktemp("state")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("CALLMART_STATE_DIR", str(folder))
    patcher.setenv("DBT_TARGET_PATH", str(folder / "target"))
    patcher.setenv("DBT_LOG_PATH", str(folder / "logs"))


def shared_folder(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder `name` that `build` fills once per test run, shared by the pytest workers: the
    first to ask builds it, under a lock, while the others wait (one build instead of one per
    worker or module). Its readers read it only."""
    run_folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        run_folder = run_folder.parent  # the workers' folders share this run's parent
    shared = run_folder / name
    with open(run_folder / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "built").exists():
            shutil.rmtree(shared, ignore_errors=True)  # a build that failed part-way
            shared.mkdir()
            build(shared)
            (shared / "built").touch()
    return shared


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory, _dbt_artifacts_apart: None) -> Path:
    """The bundled sample through `callmart run`, built once per test run (about a minute)
    and shared by the pytest workers; read it only."""

    def build(folder: Path) -> None:
        assert main(["run", "--quiet", "--db", str(folder / "warehouse.duckdb")]) == 0

    return shared_folder(tmp_path_factory, "sample", build) / "warehouse.duckdb"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture
def ingest(db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """Run `callmart ingest` in-process with the test secret; returns the exit status."""
    monkeypatch.setenv("DIALPAD_WEBHOOK_SECRET", SECRET)

    def run(*paths: Path | str, secret: bool = True) -> int:
        if not secret:
            monkeypatch.delenv("DIALPAD_WEBHOOK_SECRET", raising=False)
        return main(["ingest", "--quiet", "--db", str(db), *map(str, paths)])

    return run


@pytest.fixture
def query(db: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    def run(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(db), read_only=True) as con:
            return con.execute(sql).fetchall()

    return run


# The files that take longest (seconds of wall time in a fresh-clone CI run on two cores,
# 2026-12-03, four workers; "CPU": user + system seconds of the file alone, a JVM's not
# counted), longest first; the rest follow in their own order. A build of the project costs
# about 45 s of CPU however small its data: a new file that builds goes where its seconds put
# it.
# pytest-xdist gives a worker whose file has two tests or fewer left a second file at once, so
# the three files after the first four wait behind them: quick ones (no build) go there.
_LONGEST_FIRST = (
    "test_spark_parity.py",  # 701 s in CI (two Spark builds)
    "test_spark_kpi_parity.py",  # 700 s in CI (a Spark build and the Spark unit tests)
    "test_incremental.py",  # 355 s in CI, 237 CPU alone (the random batches: five builds)
    "test_incremental_late.py",  # 200 s in CI, 145 CPU alone (the late events: three builds)
    "test_hs256.py",  # quick: queued behind one of the four above
    "test_ingest_formats.py",  # quick
    "test_ingest_identity.py",  # quick
    "test_determinism.py",  # 380 s in CI (three builds)
    "test_nothing_new.py",  # 290 s in a local full run (six builds, three with nothing new)
    "test_messagebird_models.py",  # 305 s in CI
    "test_test_scope.py",  # 260 s in CI (four builds; one with nothing new since 2026-12-04)
    "test_incremental_acw.py",  # 250 s in CI (four builds)
    "test_publish.py",  # 155 s in CI
    "test_config.py",  # 150 s in CI
    "test_wheel.py",  # 130 s in CI
    "test_dbt_unit_tests.py",  # 130 s in CI (an empty build, then every unit test)
    "test_kpis.py",  # 150 s in CI (the KPI warehouse, shared with the Spark KPI test)
    "test_report.py",
    "test_analyst_queries.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first: the pytest workers (pyproject.toml) take one file at a time,
    so they start on these and share out the short ones at the end, and no long file starts
    last and runs alone."""
    rank = {name: place for place, name in enumerate(_LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
