"""Run the dbt project on DuckDB (or Spark), summarise what happened, publish the marts.

dbt runs in a child process: dbt-duckdb keeps its connection open for the life of the process
that ran it, and a child's exit releases the file for the next reader or writer. The summary
comes from dbt's own artifact, `run_results.json`.

A build is `dbt build --exclude-resource-type unit_test`: seeds, models and data tests, with
the severities the contract gives them (docs/contract.md §1), but not dbt's unit tests. Unit
tests check the project's SQL against fixed fixtures, not the warehouse's data: they cannot
pass on one warehouse and fail on another, and they cost more than the models themselves on
an hourly batch. They run where code changes, in CI (tests/test_dbt_unit_tests.py).

Most models are incremental (docs/performance.md, "Incremental builds"): a build recomputes
only the conversations the raw rows loaded since the last successful build touch, and
`full_refresh` rebuilds every model from the raw tables. A build after the same project's last
one runs what changed (ingest/build_inputs.py): the models downstream of the raw tables that got
rows, the tables and `marts.feed_health`; with nothing new, `marts.feed_health` alone.

On Spark (`SparkTarget`, docs/spark.md) the same build runs through dbt-spark's session method
on a Parquet raw layer (`callmart ingest --to-parquet`); the marts stay in Spark's catalog, so
there is no DuckDB file to publish.

The dbt project is the repository's (`dbt_project.yml` and the folders beside it) in a
checkout or an editable install, and the copy an installed wheel carries in `ingest/project/`
(setup.py); `$CALLMART_PROJECT_DIR` overrides both. dbt writes nothing there: its `target/`
(artifacts, the partial parse) and `logs/` go to the state folder, `.callmart/` beside the
warehouse file (beside the Spark warehouse folder on Spark) or `$CALLMART_STATE_DIR`; dbt's
own `DBT_TARGET_PATH` and `DBT_LOG_PATH`, where set, still win.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

import duckdb
import yaml

from ingest.build_inputs import ALWAYS_BUILT, build_inputs, changed_tables, record, selection
from ingest.children import preexec
from ingest.errors import BuildError, CallmartError
from ingest.publish import publish_marts
from ingest.raw_tables import RAW_TABLES
from ingest.warehouse import connect, held_open

_FAILED = {"error", "fail", "runtime error"}
# dbt's own command line, run as `python -c DBT_CLI` (a child process: see above)
DBT_CLI = "import sys; from dbt.cli.main import cli; sys.exit(cli())"
# what every `callmart build` passes to `dbt build`: no unit tests, and a JSON log to read
DBT_BUILD_OPTIONS = [
    "--exclude-resource-type", "unit_test", "--log-format", "json", "--no-use-colors"
]  # fmt: skip
# dbt's structured log events that end a node (a seed, model, snapshot or test)
_NODE_RESULTS = {"LogSeedResult", "LogModelResult", "LogSnapshotResult", "LogTestResult"}


def dbt_environment() -> dict[str, str]:
    """The environment dbt runs in: this process's, no usage statistics, and dbt's log file
    (`logs/dbt.log`) at info level unless $DBT_LOG_LEVEL_FILE says otherwise. At dbt's default,
    debug, the file holds every query's text; writing it took about 2 s of a 23 s hourly build
    at 1M events (docs/performance.md, 2026-12-04). The compiled SQL of every node stays in
    `target/`, and `DBT_LOG_LEVEL_FILE=debug` brings the queries back into the log."""
    return {"DBT_LOG_LEVEL_FILE": "info", **os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


@dataclass
class BuildSummary:
    models: int = 0
    tests_passed: int = 0
    warnings: list[str] = field(default_factory=list)
    published: str = ""  # where readers find the marts
    rebuilt_in_full: bool = False  # the models' columns changed (an upgrade): rebuilt whole
    nothing_new: bool = False  # same raw rows, project and settings: feed_health alone was built
    # the raw tables with no rows since the last build, whose models (those no other raw table
    # feeds) were kept as they were (ingest/build_inputs.py); empty when the build ran whole
    unchanged_sources: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)  # the settings given (callmart.yml, --vars)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DbtOutput:
    """What a build shows of dbt while it runs: dbt's own lines only when `verbose` (plain text,
    to `echo`), and `progress(done, total)` per finished node. dbt's errors are always kept for
    the one-line failure."""

    verbose: bool = False
    echo: TextIO = field(default_factory=lambda: sys.stdout)
    progress: Callable[[int, int], None] | None = None


@dataclass(frozen=True)
class SparkTarget:
    """The `spark` target of profiles.yml: its raw layer and its warehouse folder."""

    raw_path: str  # the Parquet raw layer: a folder or an object-store URL (s3a://, abfss://)
    warehouse: Path  # tables and Hive metastore (spark.sql.warehouse.dir)

    def environment(self) -> dict[str, str]:
        return {
            "CALLMART_RAW_PATH": self.raw_path,
            "CALLMART_SPARK_WAREHOUSE": str(self.warehouse),
        }


_PACKAGE = Path(__file__).resolve().parent
PROJECT_NAME = "callmart"  # dbt_project.yml's name: the package of the project's nodes
SINGULAR_TESTS = "tests/dbt/_singular_tests.yml"  # what each singular data test checks
STATE_FOLDER = ".callmart"  # dbt's target/ and logs/, beside the warehouse


def project_dir() -> Path:
    """The dbt project: $CALLMART_PROJECT_DIR, else the copy an installed wheel carries,
    else the checkout this package runs from (an editable install)."""
    given = os.environ.get("CALLMART_PROJECT_DIR")
    candidates = [Path(given).resolve()] if given else [_PACKAGE / "project", _PACKAGE.parent]
    for candidate in candidates:
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    if given:
        raise CallmartError(f"no dbt project at {candidates[0]} (CALLMART_PROJECT_DIR)")
    raise CallmartError(
        f"no dbt project in this installation of callmart ({candidates[0]}): reinstall it "
        "(pip install callmart, or pip install -e . in a checkout) or set CALLMART_PROJECT_DIR"
    )


def state_dir(beside: Path) -> Path:
    """Where dbt's target/ and logs/ go: $CALLMART_STATE_DIR, else `.callmart/` in the folder
    of `beside` (the warehouse file, or the Spark warehouse folder)."""
    given = os.environ.get("CALLMART_STATE_DIR")
    return Path(given).resolve() if given else beside.resolve().parent / STATE_FOLDER


def _dbt_paths(env: dict[str, str], state: Path) -> None:
    """Point dbt's target/ and logs/ at the state folder, never at the project (which may be
    a read-only install); DBT_TARGET_PATH and DBT_LOG_PATH, where set, keep their say."""
    for variable, folder in (("DBT_TARGET_PATH", "target"), ("DBT_LOG_PATH", "logs")):
        given = env.get(variable)
        env[variable] = str(Path(given).resolve() if given else state / folder)


def run_dbt_build(
    db: Path,
    full_refresh: bool = False,
    *,
    settings: dict[str, Any] | None = None,
    output: DbtOutput | None = None,
    spark: SparkTarget | None = None,
    data_tests: bool = True,
) -> BuildSummary:
    """`dbt build` (seeds, models and data tests; no unit tests) on `db`, or on Spark when
    `spark` is given, with `settings` as dbt vars (ingest/config.py); BuildError on failure.
    `data_tests=False` builds seeds and models alone (a caller that checks the marts itself)."""
    project = project_dir()
    output = output or DbtOutput()
    args = ["build", "--project-dir", str(project), "--profiles-dir", str(project)]
    args += DBT_BUILD_OPTIONS
    if not data_tests:
        args += ["--exclude-resource-type", "test"]
    if settings:
        args += ["--vars", json.dumps(settings)]
    env = dbt_environment()
    _dbt_paths(env, state_dir(db if spark is None else spark.warehouse))
    cwd = None
    inputs, changed, selected = None, None, []
    if spark is None:
        try:
            con = connect(db)  # the raw tables are the project's sources: make sure they exist
        except duckdb.IOException as error:
            raise held_open(db, error) from error
        try:
            inputs = build_inputs(con, project, settings)
            changed = None if full_refresh else changed_tables(con, inputs)
        finally:
            con.close()
        if changed is not None:  # ingest/build_inputs.py
            selected = ["--select", *selection(changed)]
        # dbt re-parses the whole project (about 13 s) when the profile's path changes, and
        # reuses its last parse (about 5 s, in the state folder's target/) when it does not: dbt
        # runs in the warehouse's folder and the profile names the file alone, so warehouses of
        # the same name that share a state folder ($CALLMART_STATE_DIR) share a parse
        cwd = db.resolve().parent
        env["CALLMART_DB"] = db.name
    else:
        check_spark_installed()
        args += ["--target", "spark"]
        env.update(spark.environment())
    first = [*args, "--full-refresh"] if full_refresh else [*args, *selected]
    returncode, run_results, errors = _run_dbt(first, env, cwd, output)
    rebuilt = False
    if returncode != 0 and not full_refresh and _columns_changed(run_results):
        # an upgrade changed an incremental model's columns: its stored rows cannot be kept,
        # and a changed project recomputes every key anyway (macros/incremental.sql)
        returncode, run_results, errors = _run_dbt([*args, "--full-refresh"], env, cwd, output)
        rebuilt = True
    described = _test_descriptions(Path(env["DBT_TARGET_PATH"]) / "manifest.json", project)
    summary = _summarise(run_results, returncode == 0, errors, described)
    summary.rebuilt_in_full = rebuilt
    nothing_new = changed == [] and not rebuilt
    summary.nothing_new = nothing_new
    if changed is not None and not rebuilt:
        summary.unchanged_sources = [t.name for t in RAW_TABLES if t not in changed]
    summary.vars = dict(settings or {})
    if spark is None:
        only = [ALWAYS_BUILT] if nothing_new else None  # the rest of the published file is current
        summary.published = str(publish_marts(db, only))
        if data_tests and inputs is not None:  # a build without its data tests stands for none
            with connect(db) as con:  # after the publish: a recorded build's marts are published
                record(con, run_results, inputs, selected=bool(selected) and not rebuilt)
    else:
        summary.published = f"the Spark catalog (tables under {spark.warehouse})"
    return summary


def _run_dbt(
    args: list[str], env: dict[str, str], cwd: Path | None, output: DbtOutput
) -> tuple[int, dict[str, object], list[str]]:
    """dbt in a child process that dies with this one: its exit status, run_results.json and the
    messages of its error lines.

    dbt writes its log as JSON lines (`--log-format json`): each line's message is echoed when
    verbose, its node results drive the progress, and its errors name what failed when dbt
    stops before it writes run_results.json (a compilation error, a broken profile).
    """
    results = Path(env["DBT_TARGET_PATH"]) / "run_results.json"
    results.unlink(missing_ok=True)
    errors: list[str] = []
    stray: deque[str] = deque(maxlen=3)  # the last lines that were not dbt's log (a traceback)
    with subprocess.Popen(
        [sys.executable, "-c", DBT_CLI, *args],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        preexec_fn=preexec(os.getpid()),  # a killed build takes dbt (and its lock) with it
    ) as child:
        assert child.stdout is not None
        done = total = 0
        for line in child.stdout:
            event = _event(line)
            message = str(event["info"].get("msg", "")) if event else line.rstrip("\n")
            if output.verbose:
                print(message, file=output.echo, flush=True)
            if event is None:
                if message.strip():
                    stray.append(_one_line(message))
                continue
            if event["info"].get("level") == "error" and message.strip():
                errors.append(_one_line(message))
            name = event["info"].get("name")
            total = int(event.get("data", {}).get("total") or total)
            if name in _NODE_RESULTS and output.progress is not None:
                done += 1
                output.progress(done, max(total, done))
        returncode = child.wait()
    if not results.is_file():
        shown = errors[:3] or list(stray)
        why = f": {'; '.join(shown)}" if shown else f" (exit status {returncode})"
        raise BuildError(f"dbt build could not run{why}")
    return returncode, json.loads(results.read_text()), errors


def _event(line: str) -> dict[str, Any] | None:
    """One line of dbt's JSON log, or None for a line that is not one (a Python warning)."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("info"), dict) else None


def _columns_changed(run_results: dict[str, object]) -> bool:
    """Whether an incremental model failed because its columns are not the stored table's."""
    return any(
        "schemas on this incremental model are out of sync" in str(result.get("message") or "")
        for result in cast("list[dict[str, object]]", run_results.get("results", []))
    )


def check_spark_installed() -> None:
    """A clear error where Spark cannot run: the extra or Java is missing."""
    for module in ("pyspark", "dbt.adapters.spark"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            raise CallmartError(
                f"--target spark needs {module}: pip install 'callmart[spark]' "
                "(pip install -e '.[spark]' in a checkout)"
            )
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise CallmartError("--target spark needs Java 17 (java on PATH, or JAVA_HOME)")


def _summarise(
    run_results: dict[str, object],
    success: bool,
    errors: list[str],
    described: dict[str, str] | None = None,
) -> BuildSummary:
    """Counts, warnings and failures of a build. A data test that warns or fails is named with
    its rows and, where its YAML describes it, what it found (tests/dbt/_singular_tests.yml):
    `assert_x: 1 row: legs whose ...`; else dbt's own message."""
    described = described or {}
    summary = BuildSummary()
    failures: list[str] = []
    for result in cast("list[dict[str, object]]", run_results.get("results", [])):
        status = str(result["status"]).lower()
        node = str(result["unique_id"])
        name = _node_name(node)
        if status in _FAILED or status == "warn":
            told = _outcome(result, described.get(node), status)
            (summary.warnings if status == "warn" else failures).append(f"{name}: {told}")
        elif node.startswith("model.") and status == "success":
            summary.models += 1
        elif node.startswith(("test.", "unit_test.")) and status == "pass":
            summary.tests_passed += 1
    if failures or not success:
        shown = "; ".join(failures[:3] or errors[:3]) or "see `callmart build --verbose`"
        more = f" (and {len(failures) - 3} more)" if len(failures) > 3 else ""
        raise BuildError(f"dbt build failed: {shown}{more}")
    return summary


def _outcome(result: dict[str, object], description: str | None, status: str) -> str:
    rows = result.get("failures")
    if description and isinstance(rows, int) and rows > 0:
        return f"{rows} {'row' if rows == 1 else 'rows'}: {_one_line(description)}"
    return _one_line(result.get("message") or status)


def _test_descriptions(manifest: Path, project: Path) -> dict[str, str]:
    """unique_id -> description of the project's data tests that have one: dbt's manifest, and
    for the singular tests the project's own YAML, which dbt's partial parse can leave out of
    the manifest after a project file changed (dbt-core #10801)."""
    try:
        nodes = json.loads(manifest.read_text()).get("nodes", {})
    except (OSError, ValueError):
        nodes = {}
    described = {
        unique_id: str(node["description"])
        for unique_id, node in nodes.items()
        if unique_id.startswith("test.") and node.get("description")
    }
    try:
        singular = yaml.safe_load((project / SINGULAR_TESTS).read_text()) or {}
    except (OSError, yaml.YAMLError):
        singular = {}
    for test in singular.get("data_tests") or []:
        if isinstance(test, dict) and test.get("name") and test.get("description"):
            described.setdefault(f"test.{PROJECT_NAME}.{test['name']}", str(test["description"]))
    return described


def _node_name(unique_id: str) -> str:
    """`test.callmart.not_null_x.9f8e` -> `not_null_x`; a unit test keeps its model's name."""
    parts = unique_id.split(".")
    if parts[0] == "unit_test" and len(parts) > 3:
        return f"{parts[2]}.{parts[3]}"
    return parts[2] if len(parts) > 2 else unique_id


def _one_line(message: object) -> str:
    return " ".join(str(message).split())[:300]
