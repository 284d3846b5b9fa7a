"""Every dbt unit test of the project passes (CI runs them here; `callmart build` does not).

Unit tests check the models' SQL against fixed fixtures, not a warehouse's data, so production
builds leave them out (ingest/build.py). They still need the relations they stand in for to
exist (dbt reads the columns of every input a fixture leaves out), so a fresh warehouse first
gets every seed and every model built empty.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.build import project_dir
from ingest.load import connect

_DBT = "import sys; from dbt.cli.main import cli; sys.exit(cli())"


def _dbt(db: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    project = project_dir()
    env = {**os.environ, "CALLMART_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [*args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"]
    completed = subprocess.run([sys.executable, "-c", _DBT, *command], env=env, check=False)
    results = Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json"
    return completed.returncode, json.loads(results.read_text())["results"]


def test_every_dbt_unit_test_passes(tmp_path: Path) -> None:
    db = tmp_path / "unit_tests.duckdb"
    connect(db).close()  # the raw tables, the project's sources

    status, _ = _dbt(db, "build", "--empty", "--resource-type", "seed", "--resource-type", "model")
    assert status == 0

    status, results = _dbt(db, "test", "--select", "test_type:unit")
    unit_tests = [r for r in results if str(r["unique_id"]).startswith("unit_test.")]
    failed = [
        (r["unique_id"], r["status"], r["message"]) for r in unit_tests if r["status"] != "pass"
    ]
    assert failed == []
    assert status == 0
    assert len(unit_tests) >= 67  # every unit test ran
