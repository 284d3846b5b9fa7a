"""The KPI fixture on Apache Spark: every mart equals DuckDB's (tests/test_spark_parity.py
tells how the marts are compared), and the dbt unit tests that pin what the engines do
differently pass on Spark, run on the same Spark warehouse (every relation whose columns they
read exists there, so they need no build of their own)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_dbt_unit_tests import assert_unit_tests_passed, dbt_command, engine_unit_tests
from test_kpis import kpi_warehouse  # noqa: F401  (the KPI fixture's warehouse)
from test_spark_parity import assert_identical, spark_available, spark_build  # noqa: F401

from ingest.build import SparkTarget
from ingest.cli import main

pytestmark = pytest.mark.spark


@dataclass
class KpiOnSpark:
    duckdb: Path  # the KPI fixture's DuckDB warehouse (tests/test_kpis.py)
    raw: Path  # its Parquet raw layer
    spark: Path  # Spark's warehouse of the same project copy and events


@pytest.fixture(scope="module")
def kpi_on_spark(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> KpiOnSpark:
    """The KPI fixture's project copy and events through `callmart ingest --to-parquet` and
    `callmart build --target spark` (data tests included)."""
    kpi_db: Path = request.getfixturevalue("kpi_warehouse")
    folder = tmp_path_factory.mktemp("kpi_spark")
    events = kpi_db.parent / "kpi_events.ndjson"
    assert main(["ingest", "--quiet", "--to-parquet", str(folder / "raw"), str(events)]) == 0
    seconds = spark_build(folder / "raw", folder / "spark", project=kpi_db.parent / "project")
    print(f"\nspark build of the KPI fixture: {seconds:.1f} s")
    return KpiOnSpark(kpi_db, folder / "raw", folder / "spark")


def test_the_kpi_fixture_builds_identical_marts_on_spark(kpi_on_spark: KpiOnSpark) -> None:
    """America/New_York reporting across the spring-forward day, business hours and a
    holiday: the KPI fixture's project copy and events (tests/test_kpis.py)."""
    assert_identical(kpi_on_spark.duckdb, kpi_on_spark.spark)


def test_the_unit_tests_of_the_engine_dispatch_models_pass_on_spark(
    kpi_on_spark: KpiOnSpark,
) -> None:
    """The dbt unit tests that pin what the engines do differently (tests/test_dbt_unit_tests.py
    tells which; `CALLMART_SPARK_UNIT_TESTS=all` runs every one) pass on Spark. They run with
    the project itself (its vars), on the warehouse built above: a unit test reads only the
    columns of the relations it stands in for, never their rows."""
    every = os.environ.get("CALLMART_SPARK_UNIT_TESTS") == "all"
    # the manifest of the last build (Spark's, above) names the models' macros
    selected = ["test_type:unit"] if every else engine_unit_tests()
    target = SparkTarget(
        raw_path=str(kpi_on_spark.raw.resolve()), warehouse=kpi_on_spark.spark.resolve()
    )
    status, results = dbt_command("spark", target.environment(), "test", "--select", *selected)
    assert_unit_tests_passed(status, results, 93 if every else 10)
