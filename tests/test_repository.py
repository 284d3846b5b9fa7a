"""The repository documents its own interface (docs/contract.md), and nothing in it points outside.

Cheap checks over the files themselves (no warehouse, no dbt run; well under a second):
- no file refers to a path outside the repository;
- every "docs/contract.md §N" citation names a section that exists, and every link into
  docs/contract.md (and out of it) lands on a heading that exists;
- every column of every mart's YAML is in docs/contract.md's table for that mart, with the same
  type, and the table names no column the mart lacks.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "contract.md"

# Where each mart is documented: the section of docs/contract.md holding its column table.
# A new mart is added here and given a table there.
MART_SECTIONS = {
    "fct_conversations": 5,
    "fct_call_legs": 6,
    "fct_leg_states": 6,
    "dim_agents": 6,
    "fct_call_center_offers": 6,
    "agg_call_center_hourly": 6,
    "agg_agent_daily": 6,
    "feed_health": 10,
    "fct_agent_status_intervals": 11,
    "agg_agent_interval": 11,
}
# dbt YAML data_type -> the type the contract's tables name (DuckDB's spelling).
TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "bigint": "BIGINT",
    "integer": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    # a list of texts: Spark spells it array<string> (the YAML picks by target)
    "{{ 'array<string>' if target.type == 'spark' else 'varchar[]' }}": "VARCHAR[]",
}
# Paths outside the repository, spelled so that this file does not match itself.
OUTSIDE = re.compile(re.escape("../" + "shared") + "|" + re.escape("/" + "work/"))
# The one citation form is "docs/contract.md §N" (also §N-§M, §N and §M, §N, §M), which may
# wrap onto the next line; the old uppercase form is refused.
OLD_CITATION = re.compile(r"\bCONTRACT(?:\.md|\s+sections?\b|\s*§|\s+\d)")
CITATION = re.compile(r"docs/contract\.md\s+(§\d+(?:(?:-|, | and | or )§\d+)*)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster


@cache
def repository_files() -> tuple[Path, ...]:
    """Tracked files, and new ones not ignored (so an uncommitted file is checked too)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    paths = (ROOT / name for name in listed.decode().split("\0") if name)
    return tuple(sorted(path for path in paths if path.is_file()))


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary (gzip, Parquet, ...) file."""
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


@cache
def text_files() -> tuple[tuple[Path, str], ...]:
    return tuple((path, text) for path in repository_files() if (text := text_of(path)) is not None)


def slug(heading: str) -> str:
    """A Markdown heading's anchor, as GitHub makes it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    return {
        slug(line.lstrip("#"))
        for line in markdown.read_text().splitlines()
        if re.match(r"#{1,6} ", line)
    }


@cache
def contract_sections() -> dict[int, str]:
    """Section number -> its text (heading to the next numbered section)."""
    sections: dict[int, str] = {}
    current: int | None = None
    for line in CONTRACT.read_text().splitlines():
        if heading := re.match(r"## (\d+)\. ", line):
            current = int(heading.group(1))
            sections[current] = ""
        elif line.startswith("## "):
            current = None
        elif current is not None:
            sections[current] += line + "\n"
    return sections


def documented_columns(section: str, mart: str) -> dict[str, str]:
    """Column -> type, from the table under "### `marts.<mart>`" in a section's text."""
    parts = re.split(r"^### ", section, flags=re.MULTILINE)
    found = [part for part in parts if part.startswith(f"`marts.{mart}`")]
    assert found, f"no table for marts.{mart}"
    columns: dict[str, str] = {}
    for line in found[0].splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] in {"column", "---"}:
            continue
        for name in re.findall(r"`([a-z0-9_]+)`", cells[0]):
            assert name not in columns, f"marts.{mart}.{name} is listed twice"
            columns[name] = cells[1]
    return columns


def mart_models() -> dict[str, dict[str, str]]:
    """Mart -> column -> YAML data_type, from models/marts/**/*.yml."""
    marts: dict[str, dict[str, str]] = {}
    for path in sorted((ROOT / "models" / "marts").rglob("*.yml")):
        for model in yaml.load(path.read_text(), Loader=LOADER).get("models") or []:
            marts[model["name"]] = {
                column["name"]: column.get("data_type", "") for column in model["columns"]
            }
    return marts


def test_no_file_refers_to_a_path_outside_the_repository() -> None:
    hits = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in text_files()
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not hits, "paths outside the repository:\n" + "\n".join(hits)


def test_contract_citations_name_sections_that_exist() -> None:
    sections = contract_sections()
    assert sorted(sections) == list(range(1, 12))
    cited, wrong = 0, []
    for path, text in text_files():
        where = path.relative_to(ROOT)
        for old in OLD_CITATION.finditer(text):
            line = text.count("\n", 0, old.start()) + 1
            wrong.append(f"{where}:{line}: {old.group(0)!r}: cite as docs/contract.md §N")
        for citation in CITATION.finditer(text):
            line = text.count("\n", 0, citation.start()) + 1
            for section in re.findall(r"§(\d+)", citation.group(1)):
                cited += 1
                if int(section) not in sections:
                    wrong.append(f"{where}:{line}: docs/contract.md has no §{section}")
    assert not wrong, "\n".join(wrong)
    assert cited > 50  # the models, ingest and tests cite it throughout


def test_links_into_and_out_of_the_contract_land() -> None:
    """Links in docs/contract.md, and links from any Markdown file into it, reach a heading."""
    sources = [(p, t) for p, t in text_files() if p.suffix == ".md"]
    wrong = []
    for path, text in sources:
        for target in LINK.findall(text):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            linked = (path.parent / file).resolve() if file else path
            if path != CONTRACT and linked != CONTRACT:
                continue
            if not linked.is_file():
                wrong.append(f"{path.relative_to(ROOT)}: {target}: no such file")
            elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
                wrong.append(f"{path.relative_to(ROOT)}: {target}: no such heading")
    assert not wrong, "\n".join(wrong)


def test_every_mart_column_is_in_the_contract() -> None:
    marts = mart_models()
    assert set(marts) == set(MART_SECTIONS), "a mart without its section in MART_SECTIONS"
    sections = contract_sections()
    for mart, columns in marts.items():
        documented = documented_columns(sections[MART_SECTIONS[mart]], mart)
        assert set(columns) - set(documented) == set(), f"undocumented in marts.{mart}"
        assert set(documented) - set(columns) == set(), f"not in marts.{mart}'s YAML"
        types = {name: TYPES.get(data_type, data_type) for name, data_type in columns.items()}
        assert {name: documented[name] for name in columns} == types, f"types of marts.{mart}"
