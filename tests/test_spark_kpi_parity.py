"""The KPI fixture on Apache Spark: every mart equals DuckDB's (tests/test_spark_parity.py
tells how the marts are compared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_kpis import kpi_warehouse  # noqa: F401  (the KPI fixture's warehouse)
from test_spark_parity import assert_identical, spark_available, spark_build  # noqa: F401

from ingest.cli import main

pytestmark = pytest.mark.spark


def test_the_kpi_fixture_builds_identical_marts_on_spark(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """America/New_York reporting across the spring-forward day, business hours and a
    holiday: the KPI fixture's project copy and events (tests/test_kpis.py)."""
    kpi_db: Path = request.getfixturevalue("kpi_warehouse")
    events = kpi_db.parent / "kpi_events.ndjson"
    assert main(["ingest", "--quiet", "--to-parquet", str(tmp_path / "raw"), str(events)]) == 0
    seconds = spark_build(tmp_path / "raw", tmp_path / "spark", project=kpi_db.parent / "project")
    print(f"\nspark build of the KPI fixture: {seconds:.1f} s")
    assert_identical(kpi_db, tmp_path / "spark")
