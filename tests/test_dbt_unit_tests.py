"""Every dbt unit test of the project passes on DuckDB, and on Spark those that pin what the
engines do differently (CI runs them; `callmart build` does not).

Unit tests check the models' SQL against fixed fixtures, not a warehouse's data, so production
builds leave them out (ingest/build.py). They still need the relations they stand in for to
exist (dbt reads the columns of every input a fixture leaves out), so a fresh DuckDB warehouse
first gets every seed and every model built empty.

On Spark a unit test costs about 3 s (fixtures and planning), so CI runs there the unit tests
of the models whose SQL calls an engine dispatch macro of macros/cross_engine/ (where the
engines' differences live), selected by `engine_unit_tests` below; every model's SQL runs on
Spark in the parity tests (tests/test_spark_parity.py, tests/test_spark_kpi_parity.py), which
compare every mart of both engines on the same traffic (and enforce the models' contracts).
The Spark unit tests run in tests/test_spark_parity.py, on the warehouse its parity test
builds (marked `spark`: the spark extra and Java 17; skipped without them), instead of on an
empty build of their own. `CALLMART_SPARK_UNIT_TESTS=all` runs all of them on Spark.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from ingest.build import DBT_CLI, dbt_environment, project_dir
from ingest.warehouse import connect


def _duckdb_target(folder: Path) -> dict[str, str]:
    db = folder / "unit_tests.duckdb"
    connect(db).close()  # the raw tables, the project's sources
    return {"CALLMART_DB": str(db)}


def dbt_command(
    target: str, env: dict[str, str], *args: str
) -> tuple[int, list[dict[str, object]]]:
    """dbt `args` on `target` with `env` added, in a child process: its exit status and the
    results of its run_results.json."""
    project = project_dir()
    env = {**dbt_environment(), **env}
    command = [*args, "--target", target, "--quiet"]
    command += ["--project-dir", str(project), "--profiles-dir", str(project)]
    results = Path(os.environ["DBT_TARGET_PATH"]) / "run_results.json"
    results.unlink(missing_ok=True)
    completed = subprocess.run([sys.executable, "-c", DBT_CLI, *command], env=env, check=False)
    assert results.is_file(), f"dbt {args[0]} --target {target} could not run"
    return completed.returncode, json.loads(results.read_text())["results"]


def assert_unit_tests_passed(status: int, results: list[dict[str, object]], at_least: int) -> None:
    """Every unit test of a `dbt test` passed, and at least `at_least` of them ran."""
    unit_tests = [r for r in results if str(r["unique_id"]).startswith("unit_test.")]
    failed = [
        (r["unique_id"], r["status"], r["message"]) for r in unit_tests if r["status"] != "pass"
    ]
    assert failed == []
    assert status == 0
    assert len(unit_tests) >= at_least  # every selected unit test ran


def test_every_dbt_unit_test_passes_on_duckdb(tmp_path: Path) -> None:
    env = _duckdb_target(tmp_path)

    build = ["build", "--empty", "--resource-type", "seed", "--resource-type", "model"]
    status, _ = dbt_command("duckdb", env, *build)
    assert status == 0

    status, results = dbt_command("duckdb", env, "test", "--select", "test_type:unit")
    assert_unit_tests_passed(status, results, 93)


def engine_unit_tests() -> list[str]:
    """The unit tests of every model that calls a macros/cross_engine/ dispatch macro (through
    other macros too), from the manifest of the last dbt command."""
    manifest = json.loads((Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    macros = manifest["macros"]

    def engine_specific(model: str) -> bool:
        pending, seen = list(manifest["nodes"][model]["depends_on"]["macros"]), set()
        while pending:
            macro = pending.pop()
            if macro in seen or macro not in macros:
                continue
            seen.add(macro)
            if macros[macro]["original_file_path"].startswith("macros/cross_engine/"):
                return True
            pending += macros[macro]["depends_on"]["macros"]
        return False

    return [
        ".".join(unit_test["fqn"])
        for unit_test in manifest["unit_tests"].values()
        if engine_specific(
            next(
                n for n in unit_test["depends_on"]["nodes"] if n.endswith(f".{unit_test['model']}")
            )
        )
    ]
