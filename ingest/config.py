"""Model settings without editing dbt_project.yml (docs/contract.md §1).

The settings are the project's dbt vars (`reporting_timezone`, `service_level_seconds`, ...;
dbt_project.yml holds their defaults). Two places override them, with the same keys:

- `callmart.yml` beside the warehouse (a YAML mapping), for settings that stay;
- `--vars '{...}'` on `callmart build` and `callmart run` (YAML or JSON, as dbt takes it),
  for one build; it wins over the file.

Keys and values are checked here, before dbt starts, so a typo is one clear line rather than a
setting dbt would silently ignore. A changed setting makes the next build recompute every key
(the build fingerprint covers the vars: macros/incremental.sql), so no stored row keeps an old
time zone or threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import yaml

from ingest.errors import CallmartError

CONFIG_FILE = "callmart.yml"


class ConfigError(CallmartError):
    """A setting in callmart.yml or --vars that the project cannot take."""


def model_vars(config_dir: Path, given: str | None, project: Path) -> dict[str, Any]:
    """The settings for one build: `callmart.yml` in `config_dir`, then `--vars` over it.

    Only the keys set somewhere are returned (dbt_project.yml supplies the rest).
    """
    defaults = project_defaults(project)
    settings: dict[str, Any] = {}
    file = config_dir / CONFIG_FILE
    if file.is_file():
        try:
            text = file.read_text()
        except OSError as error:
            raise ConfigError(f"cannot read {file}: {error.strerror or error}") from error
        settings.update(_checked(_parse(text, str(file)), str(file), defaults))
    if given is not None:
        settings.update(_checked(_parse(given, "--vars"), "--vars", defaults))
    return settings


def project_defaults(project: Path) -> dict[str, Any]:
    """The vars dbt_project.yml declares, with their defaults."""
    declared = yaml.safe_load((project / "dbt_project.yml").read_text()).get("vars") or {}
    return dict(declared)


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or "not YAML"
        raise ConfigError(
            f"{where}: {problem} (expected a mapping such as {{reporting_timezone: Europe/Berlin}})"
        ) from error
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ConfigError(
            f"{where}: expected a mapping of settings such as {{reporting_timezone: Europe/Berlin}}"
        )
    return parsed


def _checked(settings: dict[str, Any], where: str, defaults: dict[str, Any]) -> dict[str, Any]:
    for key, value in settings.items():
        if key not in defaults:
            known = ", ".join(sorted(defaults))
            raise ConfigError(f"{where}: unknown setting {key!r} (known: {known})")
        default = defaults[key]
        if isinstance(default, bool) or not isinstance(default, int | float):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{where}: {key} must be a text value, not {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {key} must be a number of at least 0, not {value!r}")
    minutes = settings.get("interval_minutes")
    if minutes is not None and minutes not in (15, 30, 60):
        raise ConfigError(f"{where}: interval_minutes must be 15, 30 or 60, not {minutes!r}")
    zone = settings.get("reporting_timezone")
    if zone is not None and not _known_time_zone(zone):
        raise ConfigError(
            f"{where}: reporting_timezone {zone!r} is not a time zone name (e.g. Europe/Berlin, "
            "America/New_York, UTC)"
        )
    return settings


def _known_time_zone(name: str) -> bool:
    """Whether the engine that builds the marts knows the zone (DuckDB's ICU time zones)."""
    with duckdb.connect() as con:
        found = con.execute(
            "select count(*) from pg_timezone_names() where name = ?", [name]
        ).fetchone()
    return bool(found and found[0])
