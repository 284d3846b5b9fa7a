"""Run the dbt project in-process on a warehouse file and summarise what happened."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import BuildError, CallmartError
from ingest.load import connect

_FAILED = {"error", "fail", "runtime error"}


@dataclass
class BuildSummary:
    models: int = 0
    tests_passed: int = 0
    warnings: list[str] = field(default_factory=list)


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


def run_dbt_build(
    db: Path, full_refresh: bool = False, quiet: bool = False, extra: list[str] | None = None
) -> BuildSummary:
    """`dbt build` (seeds, models, unit and data tests) on `db`; BuildError on failure."""
    from dbt.cli.main import dbtRunner

    project = project_dir()
    connect(db).close()  # the raw tables are the project's sources: make sure they exist
    os.environ["CALLMART_DB"] = str(db)
    args = ["build", "--project-dir", str(project), "--profiles-dir", str(project)]
    if full_refresh:
        args.append("--full-refresh")
    if quiet:
        args.append("--quiet")
    result = dbtRunner().invoke([*args, *(extra or [])])
    if result.exception is not None:
        raise BuildError(f"dbt build could not run: {_one_line(result.exception)}")
    return _summarise(result.result, result.success)


def _summarise(execution: object, success: bool) -> BuildSummary:
    summary = BuildSummary()
    failures: list[str] = []
    for node_result in getattr(execution, "results", []) or []:
        status = str(node_result.status).lower()
        node = node_result.node
        name = getattr(node, "name", "?")
        kind = str(getattr(node, "resource_type", "")).lower()
        if status in _FAILED:
            failures.append(f"{name}: {_one_line(node_result.message or status)}")
        elif status == "warn":
            summary.warnings.append(f"{name}: {_one_line(node_result.message or 'warn')}")
        elif kind.endswith("model") and status == "success":
            summary.models += 1
        elif "test" in kind and status == "pass":
            summary.tests_passed += 1
    if failures or not success:
        shown = "; ".join(failures[:3]) or "see logs/dbt.log"
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        raise BuildError(f"dbt build failed: {shown}{more}")
    return summary


def _one_line(message: object) -> str:
    return " ".join(str(message).split())[:300]
