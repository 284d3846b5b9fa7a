"""The KPI report: one self-contained HTML file drawn from the reporting marts.

Charts are inline SVG written here, so the file needs no script, no stylesheet and no font
from anywhere: it opens offline, in a mail attachment, or with JavaScript disabled, and
renders the same in headless Chromium. Every number comes from the marts
(`agg_call_center_hourly`, `fct_call_center_offers`, `agg_agent_daily`, `fct_conversations`)
with the definitions of docs/metrics.md; rates are rolled up as sum of numerators over sum of
denominators, never as averages of rates.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingest.errors import CallmartError
from ingest.publish import published_path

REQUIRED_MARTS = (
    "agg_call_center_hourly",
    "fct_call_center_offers",
    "agg_agent_daily",
    "fct_conversations",
)

# Colour-blind-safe palette (Okabe-Ito).
BLUE, ORANGE, GREEN, RED, GREY, PURPLE, SKY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999", "#CC79A7", "#56B4E9",
)  # fmt: skip

WAIT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-10 s", 0, 10_000),
    ("10-20 s", 10_000, 20_000),
    ("20-30 s", 20_000, 30_000),
    ("30-60 s", 30_000, 60_000),
    ("1-2 min", 60_000, 120_000),
    ("2-5 min", 120_000, 300_000),
    ("5+ min", 300_000, None),
)


class ReportError(CallmartError):
    """The warehouse cannot be reported on (missing file or reporting marts)."""

    def __init__(self, db: Path, why: str) -> None:
        super().__init__(f"cannot write a report of {db}: {why}")
        self.db = db
        self.why = why


def write_report(db: Path, out: Path) -> Path:
    """Write the contact-center KPI report of the warehouse `db` to the HTML file `out`.

    The report reads the published marts (`warehouse.marts.duckdb`), never the warehouse
    itself, so a load or build running meanwhile neither blocks it nor shows half-built data.
    The file is self-contained (inline CSS and SVG, no script, no network reference): the
    feed's health, volume and service level by hour of day, outcomes and abandonment per call
    center, the distribution of waits, transfer rate per call center, a day-by-day table and an
    agent table, over everything the marts hold. Returns `out`. Raises ReportError (a
    CallmartError) when no build has published marts (run `callmart build`).
    """
    published = published_path(db)
    if not published.is_file():
        raise ReportError(db, f"no published marts at {published}: run `callmart build` first")
    with duckdb.connect(str(published), read_only=True) as con:
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        missing = [name for name in REQUIRED_MARTS if name not in present]
        if missing:
            raise ReportError(db, f"marts {', '.join(missing)} missing: run `callmart build` first")
        data = _read(con)
        data["feed_health"] = (
            _rows(con, "select * from marts.feed_health order by provider")
            if "feed_health" in present
            else []
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data, title=f"callmart KPI report: {db.name}"), encoding="utf-8")
    return out


# --------------------------------------------------------------------------------- data


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _read(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Everything the report shows, as plain rows."""
    totals = _rows(
        con,
        """
        select
            min(reporting_date) as first_date,
            max(reporting_date) as last_date,
            max(reporting_timezone) as reporting_timezone,
            max(service_level_seconds) as service_level_seconds,
            coalesce(sum(offered_count), 0) as offered,
            coalesce(sum(answered_count), 0) as answered,
            sum(answered_within_sl_count) as within_sl,
            sum(service_level_base_count) as sl_base,
            sum(abandoned_count - short_abandoned_count) as abandoned,
            sum(speed_to_answer_ms_sum) as speed_sum,
            sum(handle_ms) as handle_ms,
            sum(handled_count) as handled,
            sum(transferred_count) as transferred,
            sum(answered_within_sl_in_hours_count) as within_sl_in_hours,
            sum(service_level_in_hours_base_count) as sl_in_hours_base
        from marts.agg_call_center_hourly
        """,
    )[0]
    # first-contact resolution as the marts define it (agg_agent_daily, docs/metrics.md): the
    # conversations agents handled that no repeat contact followed, over those handled
    fcr = _rows(
        con,
        """
        select
            coalesce(sum(conversations_handled_count), 0) as conversations_handled,
            coalesce(sum(first_contact_resolved_count), 0) as resolved
        from marts.agg_agent_daily
        """,
    )[0]
    by_hour = _rows(
        con,
        """
        select
            cast(extract(hour from hour_start_local) as integer) as local_hour,
            sum(offered_count) as offered,
            sum(answered_count) as answered,
            sum(answered_within_sl_count) as within_sl,
            sum(service_level_base_count) as sl_base
        from marts.agg_call_center_hourly
        group by 1
        order by 1
        """,
    )
    by_center = _rows(
        con,
        """
        select
            coalesce(max(call_center_name), call_center_id, '(none)') as call_center,
            call_center_id,
            sum(offered_count) as offered,
            sum(answered_count) as answered,
            sum(abandoned_count) as abandoned,
            sum(abandoned_count - short_abandoned_count) as counted_abandoned,
            sum(voicemail_count) as voicemail,
            sum(overflow_count) as overflow,
            sum(in_progress_count) as in_progress,
            sum(service_level_base_count) as sl_base,
            sum(answered_within_sl_count) as within_sl,
            sum(handled_count) as handled,
            sum(transferred_count) as transferred
        from marts.agg_call_center_hourly
        group by provider, call_center_id
        order by call_center
        """,
    )
    by_day = _rows(
        con,
        """
        select
            reporting_date,
            sum(offered_count) as offered,
            sum(answered_count) as answered,
            sum(answered_within_sl_count) as within_sl,
            sum(service_level_base_count) as sl_base,
            sum(abandoned_count - short_abandoned_count) as abandoned,
            sum(speed_to_answer_ms_sum) as speed_sum,
            sum(handle_ms) as handle_ms,
            sum(handled_count) as handled,
            sum(transferred_count) as transferred
        from marts.agg_call_center_hourly
        group by reporting_date
        order by reporting_date
        """,
    )
    waits = _rows(
        con,
        """
        select wait_ms, offer_outcome = 'answered' as is_answered
        from marts.fct_call_center_offers
        where offer_outcome <> 'in_progress' and wait_ms is not null
        """,
    )
    agents = _rows(
        con,
        """
        select
            max(agent_name) as agent_name,
            sum(offered_leg_count) as offered,
            sum(answered_leg_count) as answered,
            sum(missed_leg_count) as missed,
            sum(outbound_leg_count) as outbound,
            sum(handled_leg_count) as handled,
            sum(handle_ms) as handle_ms,
            sum(transfers_out_count) as transfers_out,
            sum(conversations_handled_count) as conversations,
            sum(first_contact_resolved_count) as resolved,
            sum(answer_delay_ms_sum) as answer_delay_sum
        from marts.agg_agent_daily
        group by provider, agent_id
        order by handled desc, agent_name
        """,
    )
    # two ids can carry one name (a MessageBird number with and without its call object)
    names = [row["call_center"] for row in by_center]
    for row in by_center:
        if names.count(row["call_center"]) > 1 and row["call_center_id"]:
            row["call_center"] = f"{row['call_center']} ({str(row['call_center_id'])[-4:]})"
    return {
        "totals": totals,
        "fcr": fcr,
        "by_hour": by_hour,
        "by_center": by_center,
        "by_day": by_day,
        "waits": waits,
        "agents": agents,
    }


# ----------------------------------------------------------------------------- formatting


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str


def _nice_step(maximum: float, ticks: int = 5) -> float:
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _fmt_tick(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}"


def bar_chart(
    categories: Sequence[str],
    bars: Sequence[Series],
    *,
    line: Series | None = None,
    percent: bool = False,
    label: str,
    width: int = 600,
    height: int = 300,
) -> str:
    """Stacked vertical bars per category, optionally with a rate line (0-100 %, right axis).

    Returns an inline <svg> element with a <title> tooltip on every bar and point.
    """
    if not categories or not any(any(v for v in s.values) for s in bars):
        return f'<p class="empty">No data for: {_e(label)}.</p>'
    shown = [c if len(c) <= 20 else c[:19] + "…" for c in categories]
    # labels wider than their band are drawn slanted, with room below the axis
    slanted = max(len(c) for c in shown) * 6.5 > (width - 128) / len(categories)
    left, right, top, bottom = 56, 56 if line else 16, 14, 92 if slanted else 44
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s.values[i] or 0.0 for s in bars) for i in range(len(categories))]
    step = 0.2 if percent else _nice_step(max(totals))
    top_value = 1.0 if percent else step * max(1, math.ceil(max(totals) / step))
    band = plot_w / len(categories)
    bar_w = max(1.0, band * 0.72)

    def y(value: float) -> float:
        return top + plot_h - plot_h * (value / top_value if top_value else 0)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{_e(label)}" preserveAspectRatio="xMidYMid meet">'
    ]
    tick = 0.0
    while tick <= top_value + 1e-9:
        ty = y(tick)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{ty:.1f}" y2="{ty:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{ty + 4:.1f}" class="tick" text-anchor="end">'
            f"{_e(_fmt_tick(tick, percent))}</text>"
        )
        tick += step
    if line:
        for fraction in (0.0, 0.5, 1.0):
            parts.append(
                f'<text x="{left + plot_w + 6}" y="{top + plot_h - plot_h * fraction + 4:.1f}" '
                f'class="tick">{fraction * 100:.0f}%</text>'
            )
    label_every = max(1, math.ceil(len(categories) / 24))
    for i, category in enumerate(categories):
        x = left + band * i + (band - bar_w) / 2
        base = 0.0
        for series in bars:
            value = float(series.values[i] or 0.0)
            if value > 0:
                y_top, y_base = y(base + value), y(base)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(0.5, y_base - y_top):.1f}" fill="{series.color}">'
                    f"<title>{_e(category)}: {_e(series.name)} "
                    f"{_e(_fmt_tick(value, percent))}</title></rect>"
                )
            base += value
        if i % label_every == 0 and slanted:
            lx, ly = left + band * i + band / 2, top + plot_h + 12
            parts.append(
                f'<text x="{lx:.1f}" y="{ly}" class="tick" text-anchor="end" '
                f'transform="rotate(-35 {lx:.1f} {ly})">{_e(shown[i])}</text>'
            )
        elif i % label_every == 0:
            parts.append(
                f'<text x="{left + band * i + band / 2:.1f}" y="{top + plot_h + 16}" '
                f'class="tick" text-anchor="middle">{_e(shown[i])}</text>'
            )
    if line:
        points = [
            (left + band * i + band / 2, top + plot_h - plot_h * min(1.0, max(0.0, float(v))))
            for i, v in enumerate(line.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{line.color}" stroke-width="2.5"/>'
            )
        for (px, py), (i, v) in zip(
            points, [(i, v) for i, v in enumerate(line.values) if v is not None], strict=True
        ):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{line.color}">'
                f"<title>{_e(categories[i])}: {_e(line.name)} {_pct(float(v))}</title></circle>"
            )
    parts.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        'class="axis"/>'
    )
    parts.append("</svg>")
    legend = "".join(
        f'<span><i style="background:{s.color}"></i>{_e(s.name)}</span>'
        for s in [*bars, *([line] if line else [])]
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


# ------------------------------------------------------------------------------- sections


def _tile(name: str, value: str, note: str) -> str:
    return (
        f'<div class="tile"><div class="name">{_e(name)}</div>'
        f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
    )


def _tiles(data: dict[str, Any]) -> str:
    t, fcr = data["totals"], data["fcr"]
    sl_seconds = t["service_level_seconds"] or 20
    return (
        '<div class="tiles">'
        + "".join(
            (
                _tile("Offered", f"{t['offered']:,}", "calls offered to call centers"),
                _tile(
                    "Service level",
                    _pct(_ratio(t["within_sl"], t["sl_base"])),
                    f"answered within {sl_seconds} s",
                ),
                _tile(
                    "Service level in hours",
                    _pct(_ratio(t["within_sl_in_hours"], t["sl_in_hours_base"])),
                    "offered while open, business time",
                ),
                _tile(
                    "Average speed of answer",
                    _duration(_ratio(t["speed_sum"], t["answered"])),
                    "answered offers",
                ),
                _tile(
                    "Abandonment",
                    _pct(_ratio(t["abandoned"], t["sl_base"])),
                    "short abandons excluded",
                ),
                _tile(
                    "Average handle time",
                    _duration(_ratio(t["handle_ms"], t["handled"])),
                    "talk + hold",
                ),
                _tile(
                    "Transfer rate",
                    _pct(_ratio(t["transferred"], t["handled"])),
                    "of handled offers",
                ),
                _tile(
                    "First-contact resolution",
                    _pct(_ratio(fcr["resolved"], fcr["conversations_handled"])),
                    "handled, no repeat contact",
                ),
            )
        )
        + "</div>"
    )


def _volume_by_hour(data: dict[str, Any]) -> str:
    hours = {row["local_hour"]: row for row in data["by_hour"]}
    categories = [f"{h:02d}" for h in range(24)]
    answered = [float(hours[h]["answered"]) if h in hours else 0.0 for h in range(24)]
    other = [
        float(hours[h]["offered"] - hours[h]["answered"]) if h in hours else 0.0 for h in range(24)
    ]
    service_level = [
        _ratio(hours[h]["within_sl"], hours[h]["sl_base"]) if h in hours else None
        for h in range(24)
    ]
    return bar_chart(
        categories,
        [Series("answered", answered, BLUE), Series("not answered", other, ORANGE)],
        line=Series("service level", service_level, GREEN),
        label="offers and service level by local hour of day",
        width=1240,
    )


def _outcomes_by_center(data: dict[str, Any]) -> str:
    rows = data["by_center"]
    categories = [row["call_center"] for row in rows]

    def column(key: str) -> list[float]:
        return [float(row[key]) for row in rows]

    return bar_chart(
        categories,
        [
            Series("answered", column("answered"), BLUE),
            Series("abandoned", column("abandoned"), RED),
            Series("voicemail", column("voicemail"), PURPLE),
            Series("overflow", column("overflow"), SKY),
            Series("in progress", column("in_progress"), GREY),
        ],
        line=Series(
            "abandonment rate",
            [_ratio(row["counted_abandoned"], row["sl_base"]) for row in rows],
            ORANGE,
        ),
        label="offer outcomes and abandonment rate per call center",
    )


def _wait_distribution(data: dict[str, Any]) -> str:
    answered = [0.0] * len(WAIT_BUCKETS)
    unanswered = [0.0] * len(WAIT_BUCKETS)
    for row in data["waits"]:
        for i, (_, low, high) in enumerate(WAIT_BUCKETS):
            if row["wait_ms"] >= low and (high is None or row["wait_ms"] < high):
                (answered if row["is_answered"] else unanswered)[i] += 1
                break
        else:  # a negative wait (contradicting leg dates) counts in the first bucket
            (answered if row["is_answered"] else unanswered)[0] += 1
    return bar_chart(
        [name for name, _, _ in WAIT_BUCKETS],
        [Series("answered", answered, BLUE), Series("not answered", unanswered, ORANGE)],
        label="distribution of waits of finished offers",
    )


def _transfer_rates(data: dict[str, Any]) -> str:
    rows = [row for row in data["by_center"] if row["handled"]]
    return bar_chart(
        [row["call_center"] for row in rows],
        [
            Series(
                "transfer rate",
                [_ratio(row["transferred"], row["handled"]) or 0.0 for row in rows],
                GREEN,
            )
        ],
        percent=True,
        label="transfer rate of handled offers per call center",
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            (f'<td class="num">{_e(cell)}</td>' if i >= numeric_from else f"<td>{_e(cell)}</td>")
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _day_table(data: dict[str, Any]) -> str:
    rows = [
        (
            str(row["reporting_date"]),
            f"{row['offered']:,}",
            f"{row['answered']:,}",
            _pct(_ratio(row["within_sl"], row["sl_base"])),
            _duration(_ratio(row["speed_sum"], row["answered"])),
            _pct(_ratio(row["abandoned"], row["sl_base"])),
            _duration(_ratio(row["handle_ms"], row["handled"])),
            _pct(_ratio(row["transferred"], row["handled"])),
        )
        for row in data["by_day"]
    ]
    if not rows:
        return '<p class="empty">No offers.</p>'
    return _table(
        (
            "Date",
            "Offered",
            "Answered",
            "Service level",
            "ASA",
            "Abandonment",
            "AHT",
            "Transfer rate",
        ),
        rows,
    )


_HEALTH_COLUMNS = (
    ("Provider", "provider"),
    ("Data up to", "data_watermark_at"),
    ("Last loaded", "last_loaded_at"),
    ("Events", "event_count"),
    ("Conversations", "conversation_count"),
    ("Open quarantine", "open_quarantine_count"),
    ("Failed files", "failed_file_count"),
    ("Pending lines", "pending_line_count"),
    ("Open legs", "open_leg_count"),
    ("End inferred", "end_inferred_leg_count"),
    ("Reference only", "reference_only_leg_count"),
    ("Estimated times", "estimated_time_interval_count"),
    ("Negative durations", "negative_duration_count"),
    ("Implausible times", "implausible_time_count"),
)


def _health_table(data: dict[str, Any]) -> str:
    if not data["feed_health"]:
        return '<p class="empty">No feed health in these marts (built before callmart had it).</p>'
    rows = [
        tuple(_cell(row.get(name)) for _, name in _HEALTH_COLUMNS) for row in data["feed_health"]
    ]
    return _table([header for header, _ in _HEALTH_COLUMNS], rows, numeric_from=3)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)[:19]


def _agent_table(data: dict[str, Any]) -> str:
    rows = [
        (
            row["agent_name"] or "(unnamed)",
            f"{row['offered']:,}",
            f"{row['answered']:,}",
            f"{row['missed']:,}",
            f"{row['outbound']:,}",
            f"{row['handled']:,}",
            _duration(_ratio(row["handle_ms"], row["handled"])),
            _pct(_ratio(row["transfers_out"], row["handled"])),
            _pct(_ratio(row["resolved"], row["conversations"])),
            _duration(_ratio(row["answer_delay_sum"], row["answered"])),
        )
        for row in data["agents"]
    ]
    if not rows:
        return '<p class="empty">No agents.</p>'
    return _table(
        (
            "Agent",
            "Offered legs",
            "Answered",
            "Missed",
            "Outbound",
            "Handled legs",
            "AHT",
            "Transfer rate",
            "FCR",
            "Avg answer delay",
        ),  # fmt: skip
        rows,
    )


STYLE = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px 32px;
       color: #1f2328; background: #ffffff; max-width: 1320px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p.meta, p.caption { color: #57606a; margin: 2px 0 8px; font-size: 13px; }
.tiles { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 16px 0; }
.tile { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; background: #f6f8fa; }
.tile .name { font-size: 13px; color: #57606a; }
.tile .value { font-size: 26px; font-weight: 600; margin: 2px 0; }
.tile .note { font-size: 12px; color: #57606a; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 24px; }
svg.chart { width: 100%; height: auto; display: block; }
svg .grid { stroke: #e6e8eb; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { font-size: 11px; fill: #57606a; }
.legend { font-size: 12px; color: #57606a; margin: 2px 0 0 56px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
            border-radius: 2px; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e8eb; text-align: left; }
th { background: #f6f8fa; font-weight: 600; }
td:first-child { white-space: nowrap; }
td.num, th:not(:first-child) { text-align: right; font-variant-numeric: tabular-nums; }
.empty { color: #57606a; font-style: italic; }
"""


def render_report(data: dict[str, Any], title: str) -> str:
    """The report's HTML for data read by `_read` (pure: no I/O)."""
    t = data["totals"]
    period = f"{t['first_date']} to {t['last_date']}" if t["first_date"] else "no offers"
    sl_seconds = t["service_level_seconds"] or 20
    zone = t["reporting_timezone"] or "UTC"
    sections = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Period {_e(period)} (local dates, {_e(zone)}). Service level threshold '
        f"{_e(sl_seconds)} s. Definitions: docs/metrics.md of the callmart repository.</p>",
        _tiles(data),
        "<h2>Volume and service level by hour</h2>",
        '<p class="caption">Offers to call centers by the local hour they arrived in, summed over '
        "the period; the line is the service level of that hour (answered within the threshold "
        "÷ offers that finished, short abandons excluded; abandons, voicemail and overflow are "
        "misses).</p>",
        _volume_by_hour(data),
        '<div class="grid2"><div>',
        "<h2>Outcomes and abandonment</h2>",
        '<p class="caption">Offers per call center by outcome; the line is the abandonment '
        "rate.</p>",
        _outcomes_by_center(data),
        "</div><div>",
        "<h2>Wait-time distribution</h2>",
        '<p class="caption">Finished offers by how long the caller waited for an agent (from the '
        "queue or first ring to answer, voicemail or hang-up).</p>",
        _wait_distribution(data),
        "</div></div>",
        '<div class="grid2"><div>',
        "<h2>Transfer rate</h2>",
        '<p class="caption">Handled offers whose entry point or answering agent leg was '
        "transferred (IVR routing is not a transfer).</p>",
        _transfer_rates(data),
        "</div><div>",
        "<h2>By day</h2>",
        '<p class="caption">Rates of each day from the sums of its hours.</p>',
        _day_table(data),
        "</div></div>",
        "<h2>Agents</h2>",
        '<p class="caption">Over the period; AHT = handle time ÷ handled legs; FCR = handled '
        "conversations not followed by a repeat contact.</p>",
        _agent_table(data),
        "<h2>Feed health</h2>",
        '<p class="caption">What the marts were built from, per provider (marts.feed_health): '
        "how far the data reaches, what waits in the quarantine (records that were not loaded; "
        "`callmart quarantine` lists them), files that could not be read, lines still being "
        "written, and vendor data the marts could not use as given (legs still open or ended "
        "by inference, times that were implausible or gave negative durations).</p>",
        _health_table(data),
    ]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )
