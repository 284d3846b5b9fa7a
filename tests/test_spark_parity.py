"""The same dbt project on Apache Spark: every mart equals DuckDB's, row for row.

The bundled sample goes through `callmart run` into DuckDB (the session's `sample_warehouse`;
then the KPI fixture of tests/test_kpis.py, reported in America/New_York across a DST change);
its raw tables are then written to Parquet, one folder per table, as the raw layer a Spark
deployment reads (DuckDB's COPY stands in for the ingest's own Parquet writer here), and
`dbt build --target spark` runs on them in a child process (dbt-spark's session method: Spark
in local mode inside that process, its tables as Parquet under a fresh warehouse folder).
Each mart's Parquet files are then read back into DuckDB and compared with DuckDB's mart:
same columns in the same order, same type family, same rows, with timestamps compared at
millisecond precision and doubles within 1e-9 (relative).

Marked `spark`: it needs the `spark` extra (`pip install -e '.[spark]'`) and Java 17, and it
is skipped when either is missing. `pytest -m spark -s` runs it alone and prints the time
and the peak memory of the Spark build.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from test_kpis import kpi_warehouse  # noqa: F401  (the KPI fixture's warehouse and project)

from ingest.build import project_dir

pytestmark = pytest.mark.spark

RAW_TABLES = (
    "dialpad_call_events",
    "messagebird_calls",
    "messagebird_legs",
    "quarantine",
    "load_log",
)
MARTS = (
    "fct_conversations",
    "fct_call_legs",
    "fct_leg_states",
    "dim_agents",
    "fct_call_center_offers",
    "agg_call_center_hourly",
    "agg_agent_daily",
)
_DBT = "import sys; from dbt.cli.main import cli; sys.exit(cli())"

# DuckDB type of the DuckDB mart column -> DuckDB type of the same column read from Spark's
# Parquet (Spark's TIMESTAMP is an instant: Parquet TIMESTAMP adjusted to UTC).
_SAME_TYPE = {"TIMESTAMP": "TIMESTAMP WITH TIME ZONE"}


def _spark_available() -> str | None:
    """Why the Spark build cannot run here, or None."""
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install -e '.[spark]')"
        except ModuleNotFoundError:
            return f"{module} is not installed (pip install -e '.[spark]')"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (Spark needs Java 17)"
    return None


def export_raw_to_parquet(db: Path, folder: Path) -> None:
    """The warehouse's raw tables as the Parquet raw layer Spark reads (macros/cross_engine/
    raw_sources.sql): `<folder>/<table>/data_0.parquet`, instants as TIMESTAMP WITH TIME ZONE
    (Parquet TIMESTAMP adjusted to UTC), JSON columns as text."""
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for table in RAW_TABLES:
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() "
                "where schema_name = 'raw' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            select = ", ".join(
                f"cast({name} as timestamptz) as {name}"
                if kind == "TIMESTAMP"
                else f"cast({name} as varchar) as {name}"
                if kind == "JSON"
                else name
                for name, kind in columns
            )
            (folder / table).mkdir(parents=True, exist_ok=True)
            target = folder / table / "data_0.parquet"
            con.execute(f"copy (select {select} from raw.{table}) to '{target}' (format parquet)")


def _tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants (Linux /proc), in KiB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        pid = int(entry.name)
        children.setdefault(int(fields.get("PPid", "0").strip()), []).append(pid)
        rss[pid] = int(fields.get("VmRSS", "0 kB").split()[0])
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_spark_build(
    raw: Path, work: Path, project: Path, exclude: tuple[str, ...] = ()
) -> tuple[float, int, Path]:
    """`dbt build --target spark` of `project` in a child process; (seconds, peak RSS of the
    process and its children in KiB, Spark warehouse folder)."""
    warehouse = work / "spark-warehouse"
    args = [
        "build",
        "--target",
        "spark",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    if exclude:
        args += ["--exclude-resource-type", *exclude]
    env = {
        **os.environ,
        "CALLMART_RAW_PATH": str(raw),
        "CALLMART_SPARK_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    log = work / "dbt-spark.out"
    started = time.monotonic()
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-c", _DBT, *args], env=env, stdout=out, stderr=out
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kib(child.pid))
                done.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status = child.wait()
        done.set()
        sampler.join()
    seconds = time.monotonic() - started
    if status != 0:
        failed = [
            line for line in log.read_text().splitlines() if "ERROR" in line or "FAIL" in line
        ]
        pytest.fail(f"dbt build --target spark failed ({log}):\n" + "\n".join(failed[-20:]))
    return seconds, peak, warehouse


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    return [
        (row[0], row[1]) for row in con.execute(f"describe select * from {relation}").fetchall()
    ]


def _rows(
    con: duckdb.DuckDBPyConnection, relation: str, columns: list[tuple[str, str]]
) -> list[tuple[Any, ...]]:
    """Rows with instants at millisecond precision as naive UTC, sorted on every non-double
    column (doubles may differ in their last bits, so they never decide the order)."""
    select = ", ".join(
        f"date_trunc('millisecond', cast({name} as timestamp)) as {name}"
        if kind.startswith("TIMESTAMP")
        else name
        for name, kind in columns
    )
    rows = con.execute(f"select {select} from {relation}").fetchall()
    exact = [i for i, (_, kind) in enumerate(columns) if kind not in ("DOUBLE", "FLOAT")]
    return sorted(rows, key=lambda row: tuple((row[i] is None, row[i]) for i in exact))


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9)
    return left == right


def compare_marts(duckdb_warehouse: Path, spark_warehouse: Path) -> dict[str, list[str]]:
    """Every difference between DuckDB's marts and Spark's, per mart (empty lists: identical)."""
    differences: dict[str, list[str]] = {}
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for mart in MARTS:
            found: list[str] = []
            files = spark_warehouse / "marts.db" / mart
            spark_relation = f"read_parquet('{files}/*.parquet')"
            duck_columns = _columns(con, f"marts.{mart}")
            spark_columns = _columns(con, spark_relation)
            if [name for name, _ in duck_columns] != [name for name, _ in spark_columns]:
                found.append(f"columns: duckdb {duck_columns} spark {spark_columns}")
                differences[mart] = found
                continue
            for (name, duck_type), (_, spark_type) in zip(duck_columns, spark_columns, strict=True):
                if _SAME_TYPE.get(duck_type, duck_type) != spark_type:
                    found.append(f"type of {name}: duckdb {duck_type}, spark {spark_type}")
            duck_rows = _rows(con, f"marts.{mart}", duck_columns)
            spark_rows = _rows(con, spark_relation, duck_columns)
            if len(duck_rows) != len(spark_rows):
                found.append(f"row count: duckdb {len(duck_rows)}, spark {len(spark_rows)}")
            names = [name for name, _ in duck_columns]
            for duck_row, spark_row in zip(duck_rows, spark_rows, strict=False):
                unequal = [
                    f"{names[i]}: duckdb {duck_row[i]!r} spark {spark_row[i]!r}"
                    for i in range(len(names))
                    if not _same(duck_row[i], spark_row[i])
                ]
                if unequal:
                    found.append(f"row {duck_row[:3]}: " + "; ".join(unequal))
                if len(found) >= 20:
                    break
            differences[mart] = found
    return differences


def _assert_identical_on_spark(
    duckdb_warehouse: Path, work: Path, project: Path, exclude: tuple[str, ...] = ()
) -> None:
    missing = _spark_available()
    if missing:
        pytest.skip(missing)
    raw = work / "raw"
    export_raw_to_parquet(duckdb_warehouse, raw)
    seconds, peak_kib, spark_warehouse = run_spark_build(raw, work, project, exclude)
    print(
        f"\nspark build of {project.name}: {seconds:.1f} s, peak memory {peak_kib / 1024:.0f} MiB"
    )
    differences = compare_marts(duckdb_warehouse, spark_warehouse)
    assert {mart: found for mart, found in differences.items() if found} == {}


def test_the_bundled_sample_builds_identical_marts_on_spark(
    sample_warehouse: Path, tmp_path: Path
) -> None:
    """Both providers, UTC reporting; the build includes every unit and data test."""
    _assert_identical_on_spark(sample_warehouse, tmp_path, project_dir())


def test_the_kpi_fixture_builds_identical_marts_on_spark(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """America/New_York reporting across the spring-forward day, business hours and a
    holiday (tests/test_kpis.py); seeds and models only (the tests ran on the sample above)."""
    if _spark_available():
        pytest.skip(_spark_available())
    kpi_db: Path = request.getfixturevalue("kpi_warehouse")
    _assert_identical_on_spark(
        kpi_db, tmp_path, kpi_db.parent / "project", exclude=("unit_test", "test")
    )
