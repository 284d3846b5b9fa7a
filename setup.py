"""The wheel carries the dbt project: `build_py` copies it from the repository root into
`ingest/project/`, where `ingest.build.project_dir()` finds it in an installed callmart.

The repository keeps the project at its root, where dbt, a checkout and an editable install
use it as it is (an editable install copies nothing). Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# What `callmart build` reads of the project: dbt_project.yml, the profile, and the folders
# its model-, macro-, seed- and test-paths name (keep in step with dbt_project.yml).
# MANIFEST.in lists the same, for a wheel built from the sdist.
PROJECT = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests/dbt")


class BuildWithProject(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        into = Path(self.build_lib) / "ingest" / "project"
        # a build folder left by an earlier build keeps files the project has since renamed
        # or removed (a stale singular test fails every build): the copy starts empty
        shutil.rmtree(into, ignore_errors=True)
        for name in PROJECT:
            source, target = ROOT / name, into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
                shutil.copytree(source, target, ignore=ignore, dirs_exist_ok=True)
            else:
                shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildWithProject})
