"""Shared fixtures: a fresh warehouse per test, and helpers to write landing files."""

from __future__ import annotations

import gzip
import json
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


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory: pytest.TempPathFactory, _dbt_artifacts_apart: None) -> Path:
    """The bundled sample through `callmart run`, built once per test session; read it only."""
    db = tmp_path_factory.mktemp("sample") / "warehouse.duckdb"
    assert main(["run", "--quiet", "--db", str(db)]) == 0
    return db


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The Spark tests first, the longest file (the two-batch parity test) leading, then the
    installed wheel's test (about 40 s in one file): the pytest workers (pyproject.toml) take
    one file at a time, so they start on these and share out the rest while they run."""
    items.sort(
        key=lambda item: (
            item.get_closest_marker("spark") is None,
            item.path.name != "test_spark_parity.py",
            item.path.name != "test_wheel.py",
        )
    )
