"""The command line: one-line errors, exit codes, help."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.warehouse import connect

PROJECT = Path(__file__).resolve().parent.parent


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_a_missing_path_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    result = _run(
        "ingest", "--db", str(tmp_path / "w.duckdb"), "nowhere/at/all.ndjson", cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "callmart: error: nowhere/at/all.ndjson: no such file or folder"


def test_a_glob_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    result = _run(
        "ingest", "--db", str(tmp_path / "w.duckdb"), str(tmp_path / "*.jwt"), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "matches no file" in result.stderr and "Traceback" not in result.stderr


def test_a_spark_build_needs_a_raw_layer_that_exists(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("CALLMART_RAW_PATH", raising=False)
    result = _run("build", "--target", "spark", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "callmart: error: --target spark reads a Parquet raw layer: give --raw PATH "
        "(or set CALLMART_RAW_PATH)",
    )
    result = _run("build", "--target", "spark", "--raw", "no/lake", cwd=tmp_path)
    assert (result.returncode, result.stderr.strip()) == (
        1,
        "callmart: error: --raw no/lake: no such folder (callmart ingest --to-parquet DIR)",
    )


def test_an_unreadable_secret_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a.ndjson").write_text("")
    result = _run(
        "ingest",
        "--jwt-secret-file",
        str(tmp_path / "nope"),
        str(tmp_path / "a.ndjson"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("callmart: error: cannot read the JWT secret file")
    assert len(result.stderr.strip().splitlines()) == 1


def test_db_defaults_to_the_environment_then_the_working_directory(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "a.ndjson").write_text(
        '{"call_id": 1, "state": "hangup", "date_ended": 1700000000001}\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CALLMART_DB", raising=False)
    assert main(["ingest", "--quiet", "a.ndjson"]) == 0
    assert (tmp_path / "warehouse.duckdb").is_file()
    monkeypatch.setenv("CALLMART_DB", str(tmp_path / "env.duckdb"))
    assert main(["ingest", "--quiet", "a.ndjson"]) == 0
    assert (tmp_path / "env.duckdb").is_file()


def test_commands_that_load_nothing_start_without_the_loaders_modules() -> None:
    """`build`, `status` and `report` import neither the reader, the decoder nor polars
    (ingest/cli.py: they cost 0.4 s of every build's start)."""
    loaders = ["polars", "ingest.read", "ingest.decode", "ingest.load", "ingest.sink"]
    script = f"import sys, ingest.cli; print([m for m in {loaders!r} if m in sys.modules])"
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"


def test_version_is_the_packages(capsys) -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"callmart {project['project']['version']}\n"


def test_help_explains_every_option(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    for option in ("--db", "--jwt-secret-file", "--workers", "--full-refresh", "--quiet", "PATH"):
        assert option in out


def test_the_summary_adds_up_and_names_fields_no_column_holds(tmp_path: Path, capsys) -> None:
    landing = tmp_path / "a.ndjson"
    lines = [
        {
            "call_id": 1,
            "state": "calling",
            "date_started": 1_700_000_000_005,
            "ai_scorecard": {"score": 3},
        },
        {
            "call_id": 1,
            "state": "hangup",
            "date_ended": 1_700_000_000_009,
            "ai_scorecard": {},
            "new_flag": 1,
        },
        {
            "call_id": 1,
            "state": "hangup",
            "date_ended": 1_700_000_000_009,
            "ai_scorecard": {},
            "new_flag": 1,
        },
        "not json",
    ]
    landing.write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    assert main(["ingest", "--db", str(tmp_path / "w.duckdb"), str(landing)]) == 0
    out = capsys.readouterr().out
    assert "read 4 = loaded 2 + duplicates 1 + quarantined 1 + pending 0" in out
    assert "(kept in payload): ai_scorecard 3, new_flag 2" in out


def test_sample_writes_traffic_and_its_answers_and_says_what_next(tmp_path: Path, capsys) -> None:
    out = tmp_path / "s"
    assert main(["sample", "--events", "200", "--seed", "3", "--out", str(out)]) == 0
    summary = json.loads((out / "_expected" / "summary.json").read_text())
    assert summary["records"] == (
        summary["distinct_events"] + summary["duplicates"] + summary["quarantined"]
    )
    assert any((out / "landing").iterdir())
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith(f"sample: wrote {summary['records']} records")
    assert printed[-1] == (
        f"next: callmart run --db {out / 'warehouse.duckdb'} "
        f"--jwt-secret-file {out / 'jwt_secret.txt'} {out / 'landing'}"
    )
    # the folder it wrote loads as its landing files alone: the expected results are skipped
    db = tmp_path / "w.duckdb"
    secret = str(out / "jwt_secret.txt")
    assert main(["ingest", "--db", str(db), "--jwt-secret-file", secret, "--json", str(out)]) == 0
    loaded = json.loads(capsys.readouterr().out)["ingest"]
    assert loaded["files"] == len(list((out / "landing").iterdir()))
    assert loaded["read"] == summary["records"]
    assert loaded["quarantined"] == summary["quarantined"]  # no `not_an_event` from _expected/


def test_a_sample_of_no_events_is_one_line(tmp_path: Path, capsys) -> None:
    assert main(["sample", "--events", "0", "--out", str(tmp_path / "s")]) == 1
    assert capsys.readouterr().err == (
        "callmart: error: --events 0: give 1 or more (every scenario is written at least once, "
        "about 100 events, whatever the number)\n"
    )
    assert not (tmp_path / "s").exists()


def test_a_file_of_an_unknown_kind_is_one_line_naming_the_accepted(tmp_path: Path) -> None:
    (tmp_path / "export.xml").write_text("<calls/>")
    result = _run("ingest", "--db", str(tmp_path / "w.duckdb"), "export.xml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        "callmart: error: export.xml: not a landing file "
        "(accepted: .ndjson, .jsonl, .json, .jwt, each optionally .gz)\n"
    )
    assert not (tmp_path / "w.duckdb").exists()


def test_a_failed_dbt_test_is_one_line_and_exit_1(tmp_path: Path, monkeypatch, capsys) -> None:
    """A failing error-severity test fails the build: the reason names it, on one line."""
    run_results = {
        "results": [
            {"unique_id": "model.callmart.fct_conversations", "status": "success", "message": None},
            {
                "unique_id": "test.callmart.unique_fct_x.abc",
                "status": "fail",
                "message": "Got 3 results,\n configured to fail if != 0",
            },
            {"unique_id": "test.callmart.assert_y", "status": "warn", "message": "Got 1 result"},
        ]
    }

    def fake_dbt(args, env, cwd, output):  # dbt's child process: exit status and run_results
        return 1, run_results, []

    monkeypatch.setattr("ingest.build._run_dbt", fake_dbt)
    connect(tmp_path / "w.duckdb").close()  # a warehouse to build
    assert main(["build", "--db", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert err == (
        "callmart: error: dbt build failed: unique_fct_x: Got 3 results, configured to fail if != 0\n"
    )


def test_an_upgrade_that_changes_a_models_columns_rebuilds_in_full(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """An incremental model whose stored columns differ from its new SQL (on_schema_change:
    fail) makes the build run again with --full-refresh, once, and say so."""
    calls: list[list[str]] = []

    def fake_dbt(args, env, cwd, output):  # type: ignore[no-untyped-def]
        calls.append(args)
        full = "--full-refresh" in args
        status = "success" if full else "error"
        message = (
            None
            if full
            else "Compilation Error ... The source and target schemas on this incremental model are out of sync!"
        )
        results = {
            "results": [{"unique_id": "model.callmart.int_x", "status": status, "message": message}]
        }
        return (0 if full else 1), results, []

    monkeypatch.setattr("ingest.build._run_dbt", fake_dbt)
    monkeypatch.setattr("ingest.build.publish_marts", lambda db, only=None: db)
    connect(tmp_path / "w.duckdb").close()
    assert main(["build", "--db", str(tmp_path / "w.duckdb")]) == 0
    assert ["--full-refresh" in args for args in calls] == [False, True]
    assert "rebuilt in full" in capsys.readouterr().out


def test_a_model_dbt_cannot_compile_is_named_in_one_line(tmp_path: Path) -> None:
    """A model dbt cannot even parse: dbt stops before it writes run_results.json, and its own
    error line, not a bare exit status, says what and where."""
    project = tmp_path / "project"
    for name in ("models", "macros", "seeds", "tests/dbt"):
        shutil.copytree(PROJECT / name, project / name)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copyfile(PROJECT / name, project / name)
    broken = project / "models" / "marts" / "calls" / "dim_agents.sql"
    broken.write_text(broken.read_text() + "\n{{ no_such_macro( }}\n")
    db = tmp_path / "w.duckdb"
    connect(db).close()
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "build", "--db", str(db)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "CALLMART_PROJECT_DIR": str(project)},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("callmart: error: dbt build could not run: ")
    assert result.stderr.count("\n") == 1
    assert "dim_agents.sql" in result.stderr and "no_such_macro" in result.stderr


def test_run_json_is_one_document_with_the_load_and_the_build(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """`run --json` for a scheduler: the load's counts and the build's, in one document on
    stdout and nothing else there (the build is dbt's: stood in for here)."""
    from ingest.build import BuildSummary

    def fake_build(db, full_refresh, *, settings, output):  # type: ignore[no-untyped-def]
        return BuildSummary(models=3, tests_passed=7, published=str(db), vars=settings)

    monkeypatch.setattr("ingest.cli.run_dbt_build", fake_build)
    call = {"call_id": 7001, "date_started": 1_772_442_000_000}
    # an event, its copy, and a JSON string (valid JSON, not an object)
    lines = [{**call, "state": "calling"}, {**call, "state": "calling"}, "an event?"]
    (tmp_path / "a.ndjson").write_text("".join(f"{json.dumps(line)}\n" for line in lines))
    db = tmp_path / "w.duckdb"
    args = ["run", "--db", str(db), "--json", "--vars", "{service_level_seconds: 30}"]
    assert main([*args, str(tmp_path / "a.ndjson")]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["command"] == "run" and document["ok"] is True
    loaded = document["ingest"]
    assert (loaded["read"], loaded["loaded"], loaded["duplicates"]) == (3, 1, 1)
    assert (loaded["quarantined"], loaded["pending"]) == (1, 0)
    assert loaded["quarantined_by_reason"] == {"not_an_object": 1}
    assert loaded["into"] == str(db) and loaded["files"] == 1
    assert document["build"]["models"] == 3 and document["build"]["tests_passed"] == 7
    assert document["build"]["vars"] == {"service_level_seconds": 30}


def test_a_warning_says_in_words_what_the_data_test_found(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """A warned data test is named with its rows and its description (from dbt's manifest,
    written by the build); a test without a description keeps dbt's message."""
    leg_times = "test.callmart.assert_call_leg_times_in_order"
    run_results = {
        "results": [
            {"unique_id": leg_times, "status": "warn", "failures": 2, "message": "Got 2 results"},
            {"unique_id": "test.callmart.accepted_values_x.1", "status": "warn", "failures": 1,
             "message": "Got 1 result, configured to warn if != 0"},
        ]
    }  # fmt: skip
    target = tmp_path / "target"
    target.mkdir()
    manifest = {"nodes": {leg_times: {"description": "legs whose vendor times are out of order"}}}
    (target / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("DBT_TARGET_PATH", str(target))
    monkeypatch.setattr("ingest.build._run_dbt", lambda *args: (0, run_results, []))
    monkeypatch.setattr("ingest.build.publish_marts", lambda db, only=None: db)
    connect(tmp_path / "w.duckdb").close()
    assert main(["build", "--db", str(tmp_path / "w.duckdb")]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        "  warn: assert_call_leg_times_in_order: 2 rows: legs whose vendor times are out of order",
        "  warn: accepted_values_x: Got 1 result, configured to warn if != 0",
    ]

    # a manifest from a partial parse that lost the singular tests' descriptions (dbt-core
    # #10801): the project's tests/dbt/_singular_tests.yml still names what the test found
    (target / "manifest.json").write_text(json.dumps({"nodes": {leg_times: {"description": ""}}}))
    assert main(["build", "--db", str(tmp_path / "w.duckdb")]) == 0
    warning = capsys.readouterr().out.splitlines()[1]
    assert warning.startswith(
        "  warn: assert_call_leg_times_in_order: 2 rows: legs whose vendor times are out of order,"
    )
