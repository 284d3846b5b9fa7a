"""`write_report`: one self-contained HTML file of the KPIs, read from the published marts.

Two inputs, both cheap: the session's sample warehouse (built once for many test files), whose
report must show what its marts hold, and a hand-written published marts file (`tiny`, a few
rows per mart, written in well under a second) whose bars, counts and rate texts are worked out
by hand below. The report must open with no network (no script, stylesheet or font fetched from
anywhere) and render in headless Chromium at 1400 and 800 px: at 800 the charts stack and the
page does not get wider than the window (tables scroll inside their box). Under CI (`$CI` set)
a missing Chromium fails the test (the Makefile's `test` target installs Debian's `chromium`
when it can); elsewhere it skips.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.cli import SAMPLE_DIR, main
from ingest.errors import CallmartError
from ingest.report import write_report

GENERATED_AT = datetime(2026, 3, 5, 8, 0, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def report(sample_warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report_out") / "callmart_report.html"
    assert write_report(sample_warehouse, out) == out
    return out


# ------------------------------------------------------------------ the hand-written marts

HOURLY_COLUMNS = {
    "provider": "varchar", "hour_start_local": "timestamp", "reporting_date": "date",
    "reporting_timezone": "varchar", "call_center_id": "varchar", "call_center_name": "varchar",
    "service_level_seconds": "integer", "offered_count": "integer", "answered_count": "integer",
    "abandoned_count": "integer", "short_abandoned_count": "integer", "voicemail_count": "integer",
    "overflow_count": "integer", "in_progress_count": "integer",
    "answered_within_sl_count": "integer", "service_level_base_count": "integer",
    "answered_within_sl_in_hours_count": "integer", "service_level_in_hours_base_count": "integer",
    "speed_to_answer_ms_sum": "bigint", "speed_to_answer_known_count": "integer",
    "handle_ms": "bigint", "handle_known_count": "integer", "handled_count": "integer",
    "transferred_count": "integer",
}  # fmt: skip
AGENT_COLUMNS = {
    "provider": "varchar", "reporting_date": "date", "agent_id": "varchar",
    "agent_name": "varchar", "agent_email": "varchar", "offered_leg_count": "integer",
    "answered_leg_count": "integer", "missed_leg_count": "integer",
    "outbound_leg_count": "integer", "handled_leg_count": "integer", "handle_ms": "bigint",
    "handle_known_leg_count": "integer", "transfers_out_count": "integer",
    "conversations_handled_count": "integer", "first_contact_resolved_count": "integer",
    "answer_delay_ms_sum": "bigint", "answer_delay_known_leg_count": "integer",
    "acw_ms": "bigint", "acw_known_leg_count": "integer", "staffed_ms": "bigint",
    "available_ms": "bigint", "occupied_ms": "bigint", "wrapup_ms": "bigint",
}  # fmt: skip
OFFER_COLUMNS = {"provider": "varchar", "wait_ms": "bigint", "offer_outcome": "varchar"}
HEALTH_COLUMNS = {"provider": "varchar", "data_watermark_at": "timestamp", "event_count": "bigint"}

MB_NUMBER_ID = "21db844e-c849-4a83-92bf-9b250e9434ae"  # a MessageBird numberId


def hour(provider: str, at: str, center_id: str, name: str | None, **counts: int) -> dict:
    """One agg_call_center_hourly row: counts not given are 0; the service-level base is the
    offers (none in progress or short-abandoned here)."""
    row: dict[str, Any] = dict.fromkeys(HOURLY_COLUMNS, 0)
    row.update(provider=provider, hour_start_local=at, reporting_date=at[:10],
               reporting_timezone="UTC", call_center_id=center_id, call_center_name=name,
               service_level_seconds=20)  # fmt: skip
    row.update(counts)
    row["service_level_base_count"] = row["offered_count"]
    row["speed_to_answer_known_count"] = row["answered_count"]
    row["handled_count"] = row["handle_known_count"] = row["answered_count"]
    return row


HOURLY = [
    # 08h: 50 offers, 31 answered within 20 s: "62% (31/50)"
    hour("dialpad", "2026-03-02 08:00", "4001", "Billing", offered_count=50, answered_count=40,
         abandoned_count=6, voicemail_count=2, overflow_count=2, answered_within_sl_count=31,
         speed_to_answer_ms_sum=600_000, handle_ms=12_000_000, transferred_count=4),
    # 09h: 3 offers: too few for a service level on the chart
    hour("dialpad", "2026-03-02 09:00", "4001", "Billing", offered_count=3, answered_count=1,
         abandoned_count=2, answered_within_sl_count=1, speed_to_answer_ms_sum=10_000,
         handle_ms=200_000),
    # two Dialpad call centers with one name
    hour("dialpad", "2026-03-03 10:00", "4002", "Support", offered_count=4, answered_count=4,
         answered_within_sl_count=4, speed_to_answer_ms_sum=40_000, handle_ms=800_000,
         transferred_count=1),
    hour("dialpad", "2026-03-03 10:00", "4003", "Support", offered_count=2, answered_count=2,
         answered_within_sl_count=1, speed_to_answer_ms_sum=60_000, handle_ms=400_000),
    # one MessageBird number: under its numberId (call object arrived) and as the number itself
    hour("messagebird", "2026-03-03 10:00", MB_NUMBER_ID, "+31209867255", offered_count=6,
         answered_count=3, abandoned_count=3, answered_within_sl_count=3,
         speed_to_answer_ms_sum=30_000, handle_ms=360_000),
    hour("messagebird", "2026-03-03 11:00", "+31209867255", "+31209867255", offered_count=1,
         abandoned_count=1),
]  # fmt: skip


def agent(provider: str, agent_id: str, name: str | None, **counts: int) -> dict:
    row: dict[str, Any] = dict.fromkeys(AGENT_COLUMNS, 0)
    row.update(provider=provider, reporting_date="2026-03-02", agent_id=agent_id,
               agent_name=name, agent_email=None)  # fmt: skip
    row.update(counts)
    return row


AGENTS = [
    agent("dialpad", "9001", "Ann Lee", offered_leg_count=10, answered_leg_count=7,
          missed_leg_count=3, outbound_leg_count=2, handled_leg_count=8, handle_ms=1_920_000,
          handle_known_leg_count=8, transfers_out_count=2, conversations_handled_count=8,
          first_contact_resolved_count=6, answer_delay_ms_sum=35_000,
          answer_delay_known_leg_count=7, acw_ms=240_000, acw_known_leg_count=8,
          staffed_ms=25_500_000, available_ms=10_000_000, occupied_ms=6_000_000,
          wrapup_ms=2_000_000),
    agent("messagebird", "+31612345678", "+31612345678", offered_leg_count=4,
          answered_leg_count=3, missed_leg_count=1, handled_leg_count=3, handle_ms=360_000,
          handle_known_leg_count=3, conversations_handled_count=3,
          first_contact_resolved_count=3, answer_delay_ms_sum=9_000,
          answer_delay_known_leg_count=3, acw_ms=None, staffed_ms=None, available_ms=None,
          occupied_ms=None, wrapup_ms=None),
]  # fmt: skip
OFFERS = [
    {"provider": "dialpad", "wait_ms": 5_000, "offer_outcome": "answered"},
    {"provider": "dialpad", "wait_ms": 15_000, "offer_outcome": "answered"},
    {"provider": "dialpad", "wait_ms": 45_000, "offer_outcome": "abandoned"},
    {"provider": "dialpad", "wait_ms": None, "offer_outcome": "in_progress"},
]
HEALTH = [
    {"provider": "dialpad", "data_watermark_at": "2026-03-04 17:17:18.111", "event_count": 120},
    {"provider": "messagebird", "data_watermark_at": "2026-03-04 16:48:40", "event_count": 30},
]


def write_marts(db: Path, providers: tuple[str, ...] = ("dialpad", "messagebird")) -> Path:
    """The published marts file of warehouse `db` (an empty warehouse beside it), by hand."""
    duckdb.connect(str(db)).close()
    with duckdb.connect(str(db.with_name(f"{db.stem}.marts.duckdb"))) as con:
        con.execute("create schema marts")
        for table, columns, rows in (
            ("agg_call_center_hourly", HOURLY_COLUMNS, HOURLY),
            ("agg_agent_daily", AGENT_COLUMNS, AGENTS),
            ("fct_call_center_offers", OFFER_COLUMNS, OFFERS),
            ("feed_health", HEALTH_COLUMNS, HEALTH),
        ):
            con.execute(
                f"create table marts.{table} ("
                + ", ".join(f"{name} {kind}" for name, kind in columns.items())
                + ")"
            )
            kept = [row for row in rows if row["provider"] in providers]
            if kept:
                con.executemany(
                    f"insert into marts.{table} values ({', '.join('?' * len(columns))})",
                    [[row[name] for name in columns] for row in kept],
                )
    return db


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny")
    db = write_marts(folder / "warehouse.duckdb")
    out = write_report(db, folder / "report.html", generated_at=GENERATED_AT)
    return out.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The HTML from `<h2>heading</h2>` to the next <h2>."""
    return text.split(f"<h2>{heading}</h2>", 1)[1].split("<h2>", 1)[0]


def _row(section: str, *cells: str) -> bool:
    """Whether a table row of `section` starts with these cells' texts."""
    pattern = r"<tr>" + "".join(
        rf'<td(?: class="num")?>{re.escape(html.escape(c))}</td>' for c in cells
    )
    return re.search(pattern, section) is not None


# ------------------------------------------------------------------- the hand-worked report


def test_every_bar_carries_its_count_and_every_rate_its_counts(tiny: str) -> None:
    hourly = _section(tiny, "Volume and service level by hour")
    # offers per hour, written above each bar: 08h 50, 09h 3, 10h 4 + 2 + 6, 11h 1
    counts = re.findall(r'class="count" text-anchor="middle">([^<]+)</text>', hourly)
    assert counts == ["50", "3", "12", "1"]
    assert "<title>08: answered 40 of 50</title>" in hourly
    assert "<title>08: not answered 10 of 50</title>" in hourly
    # the service level with its counts; 09h and 11h (3 and 1 offers) get no point
    assert "<title>08: service level 62% (31/50)</title>" in hourly
    assert "<title>10: service level 67% (8/12)</title>" in hourly  # 4 + 1 + 3 of 12
    assert "09: service level" not in hourly and "11: service level" not in hourly
    assert hourly.count("<circle") == 2
    assert "fewer than 5 offers" in tiny
    # axis titles
    assert ">offers</text>" in hourly and ">service level</text>" in hourly
    assert ">hour of day the offer arrived (UTC)</text>" in hourly
    # transfer rate per call center: Billing 4 of 41 handled; the others too few to draw
    transfers = _section(tiny, "Transfer rate")
    labels = re.findall(r'class="count" text-anchor="middle">([^<]+)<title>', transfers)
    assert labels == ["10% (4/41)", "n = 4", "n = 2", "n = 3"]
    assert transfers.count("<rect") == 1
    # waits of finished offers: 5 s, 15 s, 45 s (the one in progress is left out)
    waits = _section(tiny, "Wait-time distribution")
    assert re.findall(r'class="count" text-anchor="middle">([^<]+)</text>', waits) == ["1"] * 3
    # tiles: 40 of 66 offers answered within 20 s
    assert '<div class="value">60.6 %</div><div class="note">40 of 66 answered within 20 s' in tiny


def test_call_centers_and_agents_by_name_with_their_provider(tiny: str) -> None:
    centers = _section(tiny, "Call centers")
    assert "<th>Provider</th><th>Call center</th>" in centers
    # Billing: 53 offered, 41 answered, 8 abandoned, 2 voicemail, 2 overflow; 32 of 53 within
    # 20 s, 8 of 53 abandoned, ASA 610 s / 41, 4 of 41 transferred
    assert _row(centers, "Dialpad", "Billing", "53", "41", "8", "2", "2", "0", "60% (32/53)",
                "15% (8/53)", "15 s", "10% (4/41)")  # fmt: skip
    # one name, two ids: told apart by the whole id
    assert _row(centers, "Dialpad", "Support (id 4002)", "4", "4")
    assert _row(centers, "Dialpad", "Support (id 4003)", "2", "2", "0", "0", "0", "0", "50% (1/2)")
    # the MessageBird number once, under its number: 6 + 1 offers, never an id fragment
    assert _row(centers, "MessageBird", "+31209867255", "7", "3", "4", "0", "0", "0",
                "43% (3/7)", "57% (4/7)")  # fmt: skip
    assert MB_NUMBER_ID not in tiny and MB_NUMBER_ID[-4:] not in tiny
    # the charts name the provider under its call centers
    outcomes = _section(tiny, "Outcomes and abandonment")
    assert re.findall(r'class="group" text-anchor="middle">([^<]+)</text>', outcomes) == [
        "Dialpad",
        "MessageBird",
    ]
    assert ">call center</text>" in outcomes
    days = _section(tiny, "By day")
    assert _row(days, "2026-03-02", "Dialpad", "53", "41", "60% (32/53)")
    assert _row(days, "2026-03-03", "MessageBird", "7", "3", "43% (3/7)")
    agents = _section(tiny, "Agents")
    # AHT 1,920 s / 8 = 4:00; answer delay 35 s / 7; 2 of 8 transferred; 6 of 8 resolved;
    # ACW 240 s / 8 = 30 s; staffed 25,500 s = 7 h 05; occupancy (6,000 + 2,000) s of
    # (10,000 + 6,000 + 2,000) s = 44.4 %
    assert _row(agents, "Dialpad", "Ann Lee", "10", "7", "3", "2", "8", "4:00", "25% (2/8)",
                "75% (6/8)", "5 s", "30 s", "7 h 05", "44.4 %")  # fmt: skip
    # no agent status feed: ACW, staffed time and occupancy unknown, never 0
    assert _row(agents, "MessageBird", "+31612345678", "4", "3", "1", "0", "3", "2:00",
                "0% (0/3)", "100% (3/3)", "3 s", "–", "–", "–")  # fmt: skip


def test_the_legend_and_the_times_the_report_is_of(tiny: str) -> None:
    agents = _section(tiny, "Agents")
    # "Missed" as docs/metrics.md defines missed_leg_count
    assert (
        "<dt>Missed</dt><dd>offered legs that ended without the agent connecting, including "
        "rings that a colleague answered first"
    ) in agents
    assert '<th class="num">Missed</th>' in agents
    assert "<b>Generated</b> 2026-03-05 08:00 UTC" in tiny
    assert (
        "<b>Data as of</b> 2026-03-04 17:17 UTC (Dialpad), 2026-03-04 16:48 UTC (MessageBird)"
    ) in tiny


def test_one_provider_has_no_provider_column(tmp_path: Path) -> None:
    db = write_marts(tmp_path / "warehouse.duckdb", providers=("dialpad",))
    text = write_report(db, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<th>Provider</th><th>Call center</th>" not in text
    assert _row(_section(text, "Call centers"), "Billing", "53", "41")
    assert 'class="group"' not in text
    assert "<b>Providers</b> Dialpad ·" in text


def test_the_report_reads_the_published_file_while_a_writer_holds_the_warehouse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = write_marts(tmp_path / "warehouse.duckdb")
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, duckdb; from pathlib import Path; "
            "from ingest.warehouse import writing\n"
            "with writing(Path(sys.argv[1])), duckdb.connect(sys.argv[1]):\n"
            "    print('holding', flush=True); time.sleep(60)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "holding\n"
        with pytest.raises(duckdb.IOException, match="lock"):  # the writer really holds it
            duckdb.connect(str(db), read_only=True)
        out = tmp_path / "r.html"
        assert main(["report", "--db", str(db), "--out", str(out)]) == 0
        assert "Ann Lee" in out.read_text(encoding="utf-8")
    finally:
        writer.kill()
        writer.wait()


def test_missing_published_marts_are_one_clear_line(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    published = tmp_path / "w.marts.duckdb"
    assert main(["report", "--db", str(warehouse), "--out", str(tmp_path / "out.html")]) == 1
    assert capsys.readouterr().err == (
        f"callmart: error: no published marts at {published}: run callmart build first\n"
    )
    duckdb.connect(str(published)).close()  # a file without the marts
    with pytest.raises(CallmartError, match="run callmart build first"):
        write_report(warehouse, tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


# -------------------------------------------------------------------- the sample warehouse


def test_the_report_is_one_self_contained_file(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>")
    # nothing to fetch: no script or stylesheet at all, no external reference of any kind
    assert not re.search(r"<script|<link|<iframe|<img|@import|url\(", text, re.IGNORECASE)
    assert not re.search(r"https?://", text)
    for heading in (
        "Volume and service level by hour",
        "Outcomes and abandonment",
        "Wait-time distribution",
        "Transfer rate",
        "Call centers",
        "By day",
        "Agents",
        "Feed health",
    ):
        assert f"<h2>{heading}</h2>" in text
    assert text.count("<svg") == 4
    assert text.count("<rect") > 40  # bars were drawn


def test_the_report_shows_the_marts_numbers(sample_warehouse: Path, report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        offered, within, base = con.execute(
            "select sum(offered_count), sum(answered_within_sl_count), sum(service_level_base_count) "
            "from marts.agg_call_center_hourly"
        ).fetchone()
        (offers,) = con.execute("select count(*) from marts.fct_call_center_offers").fetchone()
        agents = [name for (name,) in con.execute("select name from marts.dim_agents").fetchall()]
        centers = con.execute(
            "select provider, call_center_id, call_center_name, count(*) "
            "from marts.fct_call_center_offers group by all"
        ).fetchall()
    assert offered == offers
    assert f'<div class="value">{offered:,}</div>' in text
    assert f'<div class="value">{within / base * 100:.1f} %</div>' in text
    assert all(agents)  # every agent has a name (MessageBird's: the agent's number)
    agent_section = _section(text, "Agents")
    for name in agents:
        assert f"<td>{html.escape(name)}</td>" in agent_section
    # every call center by its name (a MessageBird number once, whatever its ids), never an id
    # that is not a name; its offers are those of fct_call_center_offers
    by_name: dict[tuple[str, str], int] = {}
    for provider, center_id, name, count in centers:
        assert name
        by_name[(provider, name)] = by_name.get((provider, name), 0) + count
        if center_id != name and provider == "messagebird":
            assert center_id not in text and f"({center_id[-4:]})" not in text
    center_section = _section(text, "Call centers")
    for (provider, name), count in by_name.items():
        label = {"dialpad": "Dialpad", "messagebird": "MessageBird"}[provider]
        assert _row(center_section, label, name, f"{count:,}"), (provider, name)


def test_the_report_shows_the_feed_health(sample_warehouse: Path, report: Path) -> None:
    """One row per provider of marts.feed_health; the sample's quarantine is its own count of
    records that were not loaded (ingest/sample/_expected/summary.json)."""
    section = _section(report.read_text(encoding="utf-8"), "Feed health")
    summary = json.loads((SAMPLE_DIR / "_expected" / "summary.json").read_text())
    with duckdb.connect(str(sample_warehouse), read_only=True) as con:
        rows = con.execute(
            "select provider, event_count, open_quarantine_count from marts.feed_health"
        ).fetchall()
    assert sum(open_count for _, _, open_count in rows) == summary["quarantined"]
    for provider, events, open_count in rows:
        label = {"dialpad": "Dialpad", "messagebird": "MessageBird"}.get(provider, provider)
        assert f"<td>{label}</td>" in section
        assert f'<td class="num">{events:,}</td>' in section
        assert f'<td class="num">{open_count:,}</td>' in section


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


PROBE = (
    "<script>document.body.dataset.probe = JSON.stringify({"
    "page: document.documentElement.scrollWidth,"
    "charts: [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect().width),"
    "boxes: [...document.querySelectorAll('.scroll')].map(b => "
    "[b.getBoundingClientRect().right, b.scrollWidth > b.clientWidth])})</script>"
)


@pytest.mark.parametrize("width", [1400, 800])
def test_the_report_renders_in_headless_chromium(report: Path, tmp_path: Path, width: int) -> None:
    """A screenshot at the window's size that is not blank, with the blue bars painted; a copy
    of the report with a measuring script added says how wide the page and its charts are."""
    browser = shutil.which("chromium")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail(
                "chromium is not installed (CI must install it: see the Makefile's test target)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium)")
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    screenshot = tmp_path / "report.png"
    window = (width, 1000)
    completed = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: any lookup would fail
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}",
            "--dump-dom",
            f"--window-size={window[0]},{window[1]}",
            probed.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert screenshot.is_file(), completed.stderr[-2000:]
    found = re.search(r'data-probe="([^"]*)"', completed.stdout)
    assert found, completed.stderr[-2000:]
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["page"] <= width  # nothing wider than the window: no sideways page scroll
    assert all(right <= width for right, _ in probe["boxes"])
    if width == 800:  # the charts stack, each the page's width; wide tables scroll in their box
        assert all(chart > 700 for chart in probe["charts"]), probe["charts"]
        assert any(scrolls for _, scrolls in probe["boxes"])
    else:  # two charts a row
        assert all(560 < chart < 700 for chart in probe["charts"]), probe["charts"]
    image_width, image_height, rows = _png_pixels(screenshot)
    assert (image_width, image_height) == window
    channels = len(rows[0]) // image_width
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
