"""Model settings without editing dbt_project.yml: `callmart.yml` beside the warehouse and
`--vars` on build/run (docs/contract.md §1; ingest/config.py).

The traffic is the KPI fixture (tests/test_kpis.py has its story); the offers of call center
880001 "KPI Desk" used here, in UTC:

    100101  offered 2026-03-08 13:00:00, answered in 15 s
    100201  offered 2026-03-08 06:30:00, abandoned
    100301  offered 2026-03-08 22:10:00, answered in 48 s
    100601  offered 2026-03-10 15:00:00, answered in 5 s

Asia/Kolkata is UTC+5:30 (no DST), so its local hours begin at :30 UTC; America/New_York is
UTC-5 before 2026-03-08 07:00 UTC and UTC-4 after (spring forward).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.cli import main

EVENTS = Path(__file__).parent / "fixtures" / "kpi" / "events.ndjson"


def _hours(db: Path) -> list[tuple[object, ...]]:
    published = db.with_name(db.stem + ".marts.duckdb")
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(
            "select strftime(hour_start_at, '%Y-%m-%d %H:%M'), "
            "strftime(hour_start_local, '%Y-%m-%d %H:%M'), cast(reporting_date as varchar), "
            "reporting_timezone, service_level_seconds, answered_within_sl_count, service_level "
            "from marts.agg_call_center_hourly where call_center_id = '880001' "
            "order by hour_start_at"
        ).fetchall()


def _callmart(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """callmart as a scheduler runs it: its output a pipe, not a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "ingest.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def test_callmart_yml_then_vars_over_it_then_another_zone(tmp_path: Path) -> None:
    """The settings, and the output a scheduler gets (docs/contract.md §1): the load's and the
    build's summaries alone by default; with --verbose dbt's line per node; with --json one
    document on stdout (dbt's lines then on stderr); no colour codes in a pipe."""
    db = tmp_path / "warehouse.duckdb"
    (tmp_path / "callmart.yml").write_text(
        "# settings of this warehouse\nreporting_timezone: Asia/Kolkata\nservice_level_seconds: 50\n"
    )
    # the file's zone and threshold, with the flag's threshold over the file's
    quiet = _callmart("run", "--vars", "{service_level_seconds: 10}", str(EVENTS), cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert _hours(db) == [
        # 06:30 UTC is 12:00 IST: the local hour began at 06:30 UTC; abandoned
        ("2026-03-08 06:30", "2026-03-08 12:00", "2026-03-08", "Asia/Kolkata", 10, 0, 0.0),
        # 13:00 UTC is 18:30 IST: the 18:00 hour began at 12:30 UTC; 15 s > 10 s
        ("2026-03-08 12:30", "2026-03-08 18:00", "2026-03-08", "Asia/Kolkata", 10, 0, 0.0),
        # 22:10 UTC is 03:40 IST on the next day; 48 s > 10 s
        ("2026-03-08 21:30", "2026-03-09 03:00", "2026-03-09", "Asia/Kolkata", 10, 0, 0.0),
        # 15:00 UTC is 20:30 IST; 5 s <= 10 s
        ("2026-03-10 14:30", "2026-03-10 20:00", "2026-03-10", "Asia/Kolkata", 10, 1, 1.0),
    ]
    printed = quiet.stdout.splitlines()
    records = len(EVENTS.read_text().splitlines())
    assert printed[0] == f"ingest: 1 file (0 unchanged, skipped) into {db}"
    assert (
        printed[1]
        == f"  read {records} = loaded {records} + duplicates 0 + quarantined 0 + pending 0"
    )
    assert printed[2].startswith("build: ")
    assert printed[2].endswith(f"marts published to {tmp_path / 'warehouse.marts.duckdb'}")
    assert all(line.startswith("  warn: ") for line in printed[3:])
    assert quiet.stderr == ""

    # the file gone and another zone given: the stored rows are recomputed, none kept
    (tmp_path / "callmart.yml").unlink()
    zone = '{"reporting_timezone": "America/New_York"}'
    verbose = _callmart("build", "--verbose", "--json", "--vars", zone, cwd=tmp_path)
    assert verbose.returncode == 0, verbose.stderr
    summary = json.loads(verbose.stdout)
    assert summary["command"] == "build" and summary["ok"] is True
    assert summary["build"]["vars"] == {"reporting_timezone": "America/New_York"}
    assert summary["build"]["published"] == str(tmp_path / "warehouse.marts.duckdb")
    assert re.search(
        r"\d+ of \d+ OK created sql \w+ model marts\.agg_call_center_hourly", verbose.stderr
    )
    assert "Done. PASS=" in verbose.stderr
    assert "\x1b" not in quiet.stdout + verbose.stdout + verbose.stderr
    assert _hours(db) == [
        # 06:30 UTC is 01:30 EST (before the jump): the 01:00 hour began at 06:00 UTC
        ("2026-03-08 06:00", "2026-03-08 01:00", "2026-03-08", "America/New_York", 20, 0, 0.0),
        # 13:00 UTC is 09:00 EDT; 15 s <= the default 20 s
        ("2026-03-08 13:00", "2026-03-08 09:00", "2026-03-08", "America/New_York", 20, 1, 1.0),
        ("2026-03-08 22:00", "2026-03-08 18:00", "2026-03-08", "America/New_York", 20, 0, 0.0),
        ("2026-03-10 15:00", "2026-03-10 11:00", "2026-03-10", "America/New_York", 20, 1, 1.0),
    ]


@pytest.mark.parametrize(
    ("where", "text", "message"),
    [
        ("vars", "{timezone: UTC}", "--vars: unknown setting 'timezone' (known: "),
        ("vars", "{reporting_timezone: Europe/Berln}",
         "--vars: reporting_timezone 'Europe/Berln' is not a time zone name"),
        ("vars", "{service_level_seconds: -5}",
         "--vars: service_level_seconds must be a number of at least 0, not -5"),
        ("vars", "[20]", "--vars: expected a mapping of settings"),
        ("file", "service_level_seconds: twenty\n",
         "callmart.yml: service_level_seconds must be a number of at least 0, not 'twenty'"),
    ],
)  # fmt: skip
def test_a_bad_setting_is_one_line_before_anything_is_loaded(
    tmp_path: Path, capsys, where: str, text: str, message: str
) -> None:
    db = tmp_path / "warehouse.duckdb"
    args = ["run", "--db", str(db), str(EVENTS)]
    if where == "vars":
        args[1:1] = ["--vars", text]
    else:
        (tmp_path / "callmart.yml").write_text(text)
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not db.exists()  # stopped before the load: nothing half done
