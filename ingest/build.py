"""Run the dbt project on a warehouse file, summarise what happened, publish the marts.

dbt runs in a child process: dbt-duckdb keeps its connection open for the life of the process
that ran it, and a child's exit releases the file for the next reader or writer. The summary
comes from dbt's own artifact, `run_results.json`.

A build is `dbt build --exclude-resource-type unit_test`: seeds, models and data tests, with
the severities the contract gives them (CONTRACT section 1), but not dbt's unit tests. Unit
tests check the project's SQL against fixed fixtures, not the warehouse's data: they cannot
pass on one warehouse and fail on another, and they cost more than the models themselves on
an hourly batch. They run where code changes, in CI (tests/test_dbt_unit_tests.py).

Most models are incremental (docs/performance.md, "Incremental builds"): a build recomputes
only the conversations the raw rows loaded since the last successful build touch, and
`full_refresh` rebuilds every model from the raw tables.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import BuildError, CallmartError
from ingest.load import connect
from ingest.publish import publish_marts

_FAILED = {"error", "fail", "runtime error"}
_DBT = "import sys; from dbt.cli.main import cli; sys.exit(cli())"


@dataclass
class BuildSummary:
    models: int = 0
    tests_passed: int = 0
    warnings: list[str] = field(default_factory=list)
    published: Path | None = None  # the marts' file for readers


def project_dir() -> Path:
    """The dbt project: $CALLMART_PROJECT_DIR, else the checkout this package is installed from."""
    given = os.environ.get("CALLMART_PROJECT_DIR")
    candidate = Path(given) if given else Path(__file__).resolve().parent.parent
    if not (candidate / "dbt_project.yml").is_file():
        raise CallmartError(
            f"no dbt project at {candidate}: install callmart from its repository "
            "(pip install -e .) or set CALLMART_PROJECT_DIR"
        )
    return candidate


def run_dbt_build(db: Path, full_refresh: bool = False, quiet: bool = False) -> BuildSummary:
    """`dbt build` (seeds, models and data tests; no unit tests) on `db`; BuildError on failure."""
    project = project_dir()
    connect(db).close()  # the raw tables are the project's sources: make sure they exist
    target = Path(os.environ.get("DBT_TARGET_PATH") or project / "target")
    results = target / "run_results.json"
    results.unlink(missing_ok=True)
    args = ["build", "--project-dir", str(project), "--profiles-dir", str(project)]
    args += ["--exclude-resource-type", "unit_test"]
    if full_refresh:
        args.append("--full-refresh")
    if quiet:
        args.append("--quiet")
    env = {**os.environ, "CALLMART_DB": str(db), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run([sys.executable, "-c", _DBT, *args], env=env, check=False)
    if not results.is_file():
        raise BuildError(f"dbt build could not run (exit status {completed.returncode})")
    summary = _summarise(json.loads(results.read_text()), completed.returncode == 0)
    summary.published = publish_marts(db)
    return summary


def _summarise(run_results: dict[str, object], success: bool) -> BuildSummary:
    summary = BuildSummary()
    failures: list[str] = []
    for result in run_results.get("results", []):  # type: ignore[union-attr]
        status = str(result["status"]).lower()
        node = str(result["unique_id"])
        name = _node_name(node)
        if status in _FAILED:
            failures.append(f"{name}: {_one_line(result.get('message') or status)}")
        elif status == "warn":
            summary.warnings.append(f"{name}: {_one_line(result.get('message') or 'warn')}")
        elif node.startswith("model.") and status == "success":
            summary.models += 1
        elif node.startswith(("test.", "unit_test.")) and status == "pass":
            summary.tests_passed += 1
    if failures or not success:
        shown = "; ".join(failures[:3]) or "see dbt's output above"
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        raise BuildError(f"dbt build failed: {shown}{more}")
    return summary


def _node_name(unique_id: str) -> str:
    """`test.callmart.not_null_x.9f8e` -> `not_null_x`; a unit test keeps its model's name."""
    parts = unique_id.split(".")
    if parts[0] == "unit_test" and len(parts) > 3:
        return f"{parts[2]}.{parts[3]}"
    return parts[2] if len(parts) > 2 else unique_id


def _one_line(message: object) -> str:
    return " ".join(str(message).split())[:300]
