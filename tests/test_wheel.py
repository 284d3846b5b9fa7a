"""The wheel is self-contained: installed read-only, `callmart run` works from any folder.

The test builds the wheel from a copy of the sources (so no build/ or *.egg-info lands in the
checkout), installs it into a fresh venv, makes that venv's site-packages read-only and runs
`callmart run` from an unrelated temporary folder with a clean environment: the bundled
sample loads, the dbt project the wheel carries builds, and the warehouse, the published
marts and dbt's state folder (`.callmart/`: target/ and logs/) are all left in that folder.

How the venv is made, and why: a fresh `pip install <wheel>` with its dependencies from pip's
cache took 64 s here (7 s for a venv with pip, 57 s to unpack 575 MB of dependencies), more
than the run itself, with CI at 14 of its 15 minutes. So the venv is made without pip, the
wheel goes in with `pip --python ... install --no-deps`, and the dependencies are those of
the venv running the tests, made visible by a one-line .pth file. A plain path line in a .pth
file only appends that folder to sys.path; the .pth files inside it are not processed, so an
editable install of callmart there (`make test` installs one) stays inactive: the test checks
that `ingest` and the dbt project are the new venv's own.

Read-only: `chmod -R a-w` on the site-packages, restored afterwards. Root ignores file modes,
so the test also compares a listing of the whole venv (paths, sizes, modification times)
before and after the run: nothing may be added or changed there. Bytecode writing is off for
the run (a read-only install could not take it anyway; root could).

Cost: about 30 s of CPU; 33 s of wall time here on two shared cores at a load average of 4,
up to 64 s at 9: the wheel 2 s (10 s when pip must fetch setuptools>=77: the venv's is
older), the venv and the install 4 s, and `callmart run` the rest, with dbt's first, full
parse, as a new user's first run has it. conftest.py starts this file early.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.build import STATE_FOLDER, state_dir
from ingest.cli import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[1]
# what the wheel is built from: the package, its metadata, and the dbt project that setup.py
# copies in (its PROJECT; MANIFEST.in lists the same for the sdist)
SOURCES = (
    "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "LICENSE", "ingest",
    "dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt",
)  # fmt: skip


def _build_wheel(folder: Path) -> Path:
    source = folder / "source"
    for name in SOURCES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copyfile(REPO / name, source / name)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    # the build requirement (pyproject.toml) met here: build offline with this venv's
    # setuptools (the dev extra installs it); else pip fetches it, from its cache if it can
    if _setuptools_major() >= 77:
        command.append("--no-build-isolation")
    command += ["--wheel-dir", str(folder), str(source)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (wheel,) = folder.glob("callmart-*.whl")
    return wheel


def _setuptools_major() -> int:
    try:
        return int(metadata.version("setuptools").split(".")[0])
    except metadata.PackageNotFoundError:
        return 0


def _listing(folder: Path) -> set[tuple[str, int, int]]:
    """Every path under `folder` with its size and modification time."""
    found = set()
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            stat = path.lstat()
            found.add((str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    return found


def _expected_rows(name: str) -> int:
    text = (SAMPLE_DIR / "_expected" / name).read_text()
    return sum(1 for line in text.splitlines() if line.strip())


@pytest.mark.skipif(os.name != "posix", reason="chmod and venv layout are POSIX's")
def test_the_installed_wheel_runs_read_only_from_any_folder(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    subprocess.run([*install, "--no-deps", "--no-index", str(wheel)], check=True)
    site = Path(
        subprocess.check_output(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            text=True,
        ).strip()
    )
    dependencies = Path(duckdb.__file__).resolve().parents[1]
    (site / "_callmart_test_dependencies.pth").write_text(f"{dependencies}\n")
    # every folder dbt_project.yml names is in the wheel (setup.py's PROJECT)
    config = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    folders = [f for key, value in config.items() if key.endswith("-paths") for f in value]
    missing = [
        f for f in folders if (REPO / f).is_dir() and not (site / "ingest/project" / f).is_dir()
    ]
    assert missing == []

    # a clean environment (no CALLMART_*, DBT_*, PYTHONPATH), in an unrelated folder
    work, home = tmp_path / "analyst", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if "TMPDIR" in os.environ:
        env["TMPDIR"] = os.environ["TMPDIR"]
    where = subprocess.check_output(
        [str(python), "-c", "import ingest.build as b; print(b.__file__); print(b.project_dir())"],
        cwd=work, env=env, text=True,
    ).split()  # fmt: skip
    assert where == [
        str(site / "ingest" / "build.py"),
        str(site / "ingest" / "project"),
    ], "the new venv must import its own callmart, not the test venv's"

    before = _listing(venv)
    subprocess.run(["chmod", "-R", "a-w", str(site)], check=True)
    try:
        completed = subprocess.run(
            [str(venv / "bin" / "callmart"), "run"],
            cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=600, check=False,
        )  # fmt: skip
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(site)], check=True)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr
    assert _listing(venv) == before, "callmart run wrote into its install"

    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    assert (
        f"read {summary['records']} = loaded {summary['distinct_events']} "
        f"+ duplicates {summary['duplicates']} + quarantined {summary['quarantined']} "
    ) in completed.stdout
    assert f"marts published to {work / 'warehouse.marts.duckdb'}\n" in completed.stdout

    # the warehouse, the published marts, the loader's lock (ingest/warehouse.py) and the
    # state folder; nothing in the home folder
    assert sorted(path.name for path in work.iterdir()) == [
        STATE_FOLDER, ".warehouse.duckdb.lock", "warehouse.duckdb", "warehouse.marts.duckdb"
    ]  # fmt: skip
    assert (work / STATE_FOLDER / "target" / "run_results.json").is_file()
    assert (work / STATE_FOLDER / "target" / "partial_parse.msgpack").is_file()
    assert (work / STATE_FOLDER / "logs" / "dbt.log").is_file()
    assert list(home.iterdir()) == []
    with duckdb.connect(str(work / "warehouse.marts.duckdb"), read_only=True) as con:
        counts = con.execute(
            "select (select count(*) from marts.fct_conversations), "
            "(select count(*) from marts.fct_call_legs)"
        ).fetchone()
    assert counts == (_expected_rows("conversations.ndjson"), _expected_rows("legs.ndjson"))


def test_the_state_folder_is_beside_the_warehouse_or_CALLMART_STATE_DIR(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CALLMART_STATE_DIR", raising=False)
    assert state_dir(tmp_path / "data" / "warehouse.duckdb") == tmp_path / "data" / ".callmart"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CALLMART_STATE_DIR", "state")
    assert state_dir(tmp_path / "data" / "warehouse.duckdb") == tmp_path / "state"
