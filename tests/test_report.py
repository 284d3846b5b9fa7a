"""`write_report`: one self-contained HTML file of the sample warehouse's KPIs.

The report must open with no network (no script, stylesheet or font fetched from anywhere),
show its charts and tables, and render in headless Chromium: a screenshot is taken and must be
the window's size and not a blank page. Under CI (`$CI` set) a missing Chromium fails the test
(the Makefile's `test` target installs Debian's `chromium` when it can); elsewhere it skips.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import duckdb
import pytest

from ingest.cli import SAMPLE_DIR, main
from ingest.errors import CallmartError
from ingest.report import write_report

WINDOW = (1400, 2000)


@pytest.fixture(scope="module")
def report(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report_out") / "callmart_report.html"
    assert write_report(sample_warehouse, out) == out
    return out


def test_the_report_is_one_self_contained_file(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    # nothing to fetch: no script or stylesheet at all, no external reference of any kind
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\(", text, re.IGNORECASE)
    assert not re.search(r"https?://", text)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text, re.IGNORECASE)
    for heading in (
        "Volume and service level by hour",
        "Outcomes and abandonment",
        "Wait-time distribution",
        "Transfer rate",
        "Agents",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert text.count("<svg") >= 4
    assert text.count("<rect") > 40  # bars were drawn


def test_the_report_shows_the_marts_numbers(sample_warehouse: Path, report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        offered, within, base = con.execute(
            "select sum(offered_count), sum(answered_within_sl_count), sum(service_level_base_count) "
            "from marts.agg_call_center_hourly"
        ).fetchone()
        (offers,) = con.execute("select count(*) from marts.fct_call_center_offers").fetchone()
        agents = [
            name
            for (name,) in con.execute(
                "select name from marts.dim_agents where name is not null"
            ).fetchall()
        ]
        centers = [
            name
            for (name,) in con.execute(
                "select distinct call_center_name from marts.fct_call_center_offers "
                "where provider = 'dialpad' and call_center_name is not null"
            ).fetchall()
        ]
    assert offered == offers
    assert f'<div class="value">{offered:,}</div>' in text
    assert f'<div class="value">{within / base * 100:.1f} %</div>' in text
    for name in agents:
        assert f"<td>{html.escape(name)}</td>" in text
    for name in centers:
        assert f">{html.escape(name)}</text>" in text


def test_the_report_shows_the_feed_health(sample_warehouse: Path, report: Path) -> None:
    """One row per provider of marts.feed_health; the sample's quarantine is its own count of
    records that were not loaded (ingest/sample/expected/summary.json)."""
    text = report.read_text(encoding="utf-8")
    assert "<h2>Feed health</h2>" in text
    section = text.split("<h2>Feed health</h2>", 1)[1]
    summary = json.loads((SAMPLE_DIR / "expected" / "summary.json").read_text())
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        rows = con.execute(
            "select provider, event_count, open_quarantine_count from marts.feed_health"
        ).fetchall()
    assert sum(open_count for _, _, open_count in rows) == summary["quarantined"]
    for provider, events, open_count in rows:
        assert f"<td>{provider}</td>" in section
        assert f'<td class="num">{events:,}</td>' in section
        assert f'<td class="num">{open_count:,}</td>' in section


def test_missing_published_marts_are_one_clear_error(tmp_path: Path) -> None:
    """The report reads the published marts file, never the loader's warehouse."""
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    with pytest.raises(CallmartError, match="no published marts at .*w.marts.duckdb"):
        write_report(warehouse, tmp_path / "out.html")
    duckdb.connect(str(tmp_path / "w.marts.duckdb")).close()  # a file without the marts
    with pytest.raises(CallmartError, match="callmart build"):
        write_report(warehouse, tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the rows of an 8-bit RGB/RGBA non-interlaced PNG (as Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    assert header is not None
    width, height, depth, color, _, _, interlace = header
    assert depth == 8 and color in (2, 6) and interlace == 0, header
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            up_left = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                line[x] = (line[x] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def test_the_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed (CI must install it: see the Makefile's test target)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    screenshot = tmp_path / "report.png"
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any lookup would fail
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            report.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert screenshot.is_file(), completed.stderr[-2000:]
    width, height, rows = _png_pixels(screenshot)
    assert (width, height) == WINDOW
    channels = len(rows[0]) // width
    colours = set()
    non_white = 0
    for row in rows[::4]:
        for x in range(0, len(row), channels * 4):
            pixel = row[x : x + 3]
            colours.add(pixel)
            non_white += pixel != b"\xff\xff\xff"
    sampled = len(rows[::4]) * len(range(0, len(rows[0]), channels * 4))
    assert len(colours) > 50, "the screenshot is (almost) one colour: nothing rendered"
    assert non_white / sampled > 0.05, "the screenshot is almost blank"
    # the chart colours are there: the report's blue bars (#0072B2) were painted
    assert any(
        abs(c[0] - 0x00) < 8 and abs(c[1] - 0x72) < 8 and abs(c[2] - 0xB2) < 8 for c in colours
    )


def test_callmart_report_writes_the_file(sample_warehouse: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "kpis.html"
    assert main(["report", "--db", str(sample_warehouse), "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")
    assert capsys.readouterr().out.strip() == f"report: wrote {out}"


def test_callmart_report_on_a_missing_warehouse_is_one_line(tmp_path: Path, capsys) -> None:
    assert (
        main(["report", "--db", str(tmp_path / "none.duckdb"), "--out", str(tmp_path / "r.html")])
        == 1
    )
    err = capsys.readouterr().err
    assert err == (
        f"callmart: error: no warehouse at {tmp_path / 'none.duckdb'}: load something first "
        "(callmart ingest or run)\n"
    )
    assert not (tmp_path / "r.html").exists()
