"""The KPI report: one self-contained HTML file drawn from the published reporting marts.

Charts are inline SVG drawn here; no charting library is used. We weighed the libraries that
write offline output: plotly inlines about 3.5 MB of JavaScript into every file; matplotlib
(numpy, Pillow) and altair with vl-convert (a 33 MB wheel with its own JavaScript engine) would
add far more to the install than this module's chart code, which the project is trying to
shrink; pygal (small, pure Python) would shorten the drawing code, but it cannot draw a rate
line over bars, and without its JavaScript its hover text is lost, so its SVG would need
patching. Our own SVG needs no script at all: it opens offline, in a mail attachment or with
JavaScript disabled, every bar and point carries its numbers as a native tooltip (`<title>`),
and it renders the same in headless Chromium.

Every number comes from the marts (`agg_call_center_hourly`, `fct_call_center_offers`,
`agg_agent_daily`, `feed_health`) with the definitions of
docs/metrics.md; rates are rolled up as sums of numerators over sums of denominators, never as
averages of rates, and every rate is shown with its counts ("62% (31/50)"). Charts leave out
rates over fewer than `MIN_RATE_BASE` offers (their counts stay in the tooltip and tables).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ingest.errors import CallmartError
from ingest.publish import published_path

REQUIRED_MARTS = (
    "agg_call_center_hourly",
    "fct_call_center_offers",
    "agg_agent_daily",
)

MIN_RATE_BASE = 5
"""Charts draw no rate over fewer offers (or handled offers) than this: one offer would swing
an hour between 0 and 100 %."""

PROVIDER_NAMES = {"dialpad": "Dialpad", "messagebird": "MessageBird"}

# Colour-blind-safe palette (Okabe-Ito).
BLUE, ORANGE, GREEN, RED, GREY, PURPLE, SKY = (
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#999999", "#CC79A7", "#56B4E9",
)  # fmt: skip
INK = "#1f2328"

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
    """The published marts cannot be reported on (no such file, or marts missing from it)."""

    def __init__(self, published: Path, why: str) -> None:
        super().__init__(why)
        self.published = published
        self.why = why


def write_report(db: Path, out: Path, *, generated_at: datetime | None = None) -> Path:
    """Write the contact-center KPI report of the warehouse `db` to the HTML file `out`.

    The report reads the published marts (`warehouse.marts.duckdb`, ingest/publish.py) opened
    read-only, never the warehouse itself, so a load or build running meanwhile neither blocks
    it nor shows half-built data. Returns `out`. Raises ReportError (a CallmartError) when no
    build has published the marts yet.
    """
    published = published_path(db)
    if not published.is_file():
        raise ReportError(published, f"no published marts at {published}: run callmart build first")
    with duckdb.connect(str(published), read_only=True) as con:
        present = {
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        missing = [name for name in REQUIRED_MARTS if name not in present]
        if missing:
            raise ReportError(
                published,
                f"no {', '.join(missing)} in the published marts at {published}: "
                "run callmart build first",
            )
        data = read_report_data(con, has_feed_health="feed_health" in present)
    data["generated_at"] = generated_at or datetime.now(UTC)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(data, source=db.name), encoding="utf-8")
    return out


# --------------------------------------------------------------------------------- data


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# the sums every call-center grouping shows (agg_call_center_hourly, docs/metrics.md)
_CENTER_SUMS = """
    coalesce(sum(offered_count), 0) as offered,
    coalesce(sum(answered_count), 0) as answered,
    coalesce(sum(abandoned_count), 0) as abandoned,
    coalesce(sum(abandoned_count - short_abandoned_count), 0) as counted_abandoned,
    coalesce(sum(voicemail_count), 0) as voicemail,
    coalesce(sum(overflow_count), 0) as overflow,
    coalesce(sum(in_progress_count), 0) as in_progress,
    coalesce(sum(answered_within_sl_count), 0) as within_sl,
    coalesce(sum(service_level_base_count), 0) as sl_base,
    coalesce(sum(answered_within_sl_in_hours_count), 0) as within_sl_in_hours,
    coalesce(sum(service_level_in_hours_base_count), 0) as sl_in_hours_base,
    sum(speed_to_answer_ms_sum) as speed_sum,
    coalesce(sum(speed_to_answer_known_count), 0) as speed_known,
    sum(handle_ms) as handle_ms,
    coalesce(sum(handle_known_count), 0) as handle_known,
    coalesce(sum(handled_count), 0) as handled,
    coalesce(sum(transferred_count), 0) as transferred
"""

# A MessageBird call center is the number dialled: its id is the number's numberId when the
# call object arrived, else the number itself (docs/contract.md §8), and the name is the number
# either way, so the report counts one number once. A Dialpad call center is its id.
_CENTER_KEY = (
    "case when provider = 'messagebird' then coalesce(call_center_name, call_center_id) "
    "else call_center_id end"
)


def read_report_data(con: duckdb.DuckDBPyConnection, *, has_feed_health: bool) -> dict[str, Any]:
    """Everything the report shows, as plain rows (a connection to the published marts)."""
    totals = _rows(
        con,
        f"""
        select
            min(reporting_date) as first_date,
            max(reporting_date) as last_date,
            max(reporting_timezone) as reporting_timezone,
            max(service_level_seconds) as service_level_seconds,
            {_CENTER_SUMS}
        from marts.agg_call_center_hourly
        """,
    )[0]
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
        f"""
        select cast(extract(hour from hour_start_local) as integer) as local_hour, {_CENTER_SUMS}
        from marts.agg_call_center_hourly
        group by 1
        order by 1
        """,
    )
    by_center = _rows(
        con,
        f"""
        select
            provider,
            {_CENTER_KEY} as center_key,
            max(call_center_name) as call_center_name,
            {_CENTER_SUMS}
        from marts.agg_call_center_hourly
        group by provider, center_key
        order by provider, call_center_name, center_key
        """,
    )
    by_day = _rows(
        con,
        f"""
        select reporting_date, provider, {_CENTER_SUMS}
        from marts.agg_call_center_hourly
        group by reporting_date, provider
        order by reporting_date, provider
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
            provider,
            agent_id,
            coalesce(max(agent_name), max(agent_email)) as agent_name,
            coalesce(sum(offered_leg_count), 0) as offered,
            coalesce(sum(answered_leg_count), 0) as answered,
            coalesce(sum(missed_leg_count), 0) as missed,
            coalesce(sum(outbound_leg_count), 0) as outbound,
            coalesce(sum(handled_leg_count), 0) as handled,
            sum(handle_ms) as handle_ms,
            coalesce(sum(handle_known_leg_count), 0) as handle_known,
            coalesce(sum(transfers_out_count), 0) as transfers_out,
            coalesce(sum(conversations_handled_count), 0) as conversations,
            coalesce(sum(first_contact_resolved_count), 0) as resolved,
            sum(answer_delay_ms_sum) as answer_delay_sum,
            coalesce(sum(answer_delay_known_leg_count), 0) as answer_delay_known,
            sum(acw_ms) as acw_ms,
            coalesce(sum(acw_known_leg_count), 0) as acw_known,
            sum(staffed_ms) as staffed_ms,
            sum(occupied_ms) + sum(wrapup_ms) as busy_ms,
            sum(available_ms) + sum(occupied_ms) + sum(wrapup_ms) as occupancy_base_ms
        from marts.agg_agent_daily
        group by provider, agent_id
        order by handled desc, agent_name, agent_id
        """,
    )
    feed_health = (
        _rows(con, "select * from marts.feed_health order by provider") if has_feed_health else []
    )
    for row in by_center:
        row["call_center"] = row["call_center_name"] or f"call center {row['center_key']}"
    _disambiguate(by_center, "call_center", "center_key")
    for row in agents:
        row["agent"] = row["agent_name"] or f"agent {row['agent_id']}"
    _disambiguate(agents, "agent", "agent_id")
    providers = sorted({row["provider"] for row in [*by_center, *agents]})
    return {
        "totals": totals,
        "fcr": fcr,
        "by_hour": by_hour,
        "by_center": by_center,
        "by_day": by_day,
        "waits": waits,
        "agents": agents,
        "feed_health": feed_health,
        "providers": providers,
    }


def _disambiguate(rows: list[dict[str, Any]], name: str, key: str) -> None:
    """Two of one provider's ids with one name (two Dialpad call centers both called
    "Support") are told apart by their whole id, never by a fragment of it."""
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        seen[(row["provider"], row[name])] = seen.get((row["provider"], row[name]), 0) + 1
    for row in rows:
        if seen[(row["provider"], row[name])] > 1:
            row[name] = f"{row[name]} (id {row[key]})"


# ----------------------------------------------------------------------------- formatting


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def rate_text(numerator: int | None, denominator: int | None) -> str:
    """A rate with the counts behind it: "62% (31/50)"; "–" over nothing."""
    if numerator is None or not denominator:
        return "–"
    return f"{round(100 * numerator / denominator)}% ({numerator:,}/{denominator:,})"


def _duration(ms: float | None) -> str:
    if ms is None:
        return "–"
    seconds = round(ms / 1000)
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"


def _hours(ms: float | None) -> str:
    """A long duration in hours and minutes ("7 h 05"); "–" when unknown (no status feed)."""
    if ms is None:
        return "–"
    minutes = round(ms / 60_000)
    return f"{minutes // 60} h {minutes % 60:02d}"


def _when(value: object) -> str:
    """A UTC timestamp to the minute ("2026-03-04 17:17 UTC")."""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    return "–" if value is None else str(value)


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class Series:
    """Stacked counts, one per category."""

    name: str
    values: Sequence[int]
    color: str


@dataclass(frozen=True)
class Rate:
    """A rate per category, kept as its numerator and denominator."""

    name: str
    numerators: Sequence[int]
    denominators: Sequence[int]
    color: str

    def value(self, i: int) -> float | None:
        """The rate of category i, or None when it rests on fewer than MIN_RATE_BASE."""
        if self.denominators[i] < MIN_RATE_BASE:
            return None
        return self.numerators[i] / self.denominators[i]

    def text(self, i: int) -> str:
        return rate_text(self.numerators[i], self.denominators[i])


def _nice_step(maximum: float, ticks: int = 5) -> float:
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return max(1.0, factor * power)  # counts: whole ticks only
    return 10 * power


@dataclass(frozen=True)
class _Frame:
    """The plot area of a chart and its categories' bands."""

    left: float
    top: float
    width: float
    height: float
    count: int

    @property
    def band(self) -> float:
        return self.width / self.count

    def center(self, i: int) -> float:
        return self.left + self.band * (i + 0.5)

    def y(self, fraction: float) -> float:
        return self.top + self.height * (1 - fraction)


def chart(
    categories: Sequence[str],
    *,
    label: str,
    x_title: str,
    y_title: str,
    bars: Sequence[Series] = (),
    rate_bars: Rate | None = None,
    line: Rate | None = None,
    connect: bool = True,
    groups: Sequence[str] | None = None,
    width: int = 640,
    height: int = 340,
) -> str:
    """One inline <svg> chart with its legend: stacked count `bars` (their total written above
    each bar) with an optional `line` of a rate on a right-hand 0-100 % axis, or `rate_bars`
    (a rate per category, its text above each bar). Axis titles on both axes; `groups` (the
    provider of each category) are written under the category labels. Every bar and point has
    a tooltip with its counts; rates over fewer than MIN_RATE_BASE are left out."""
    totals = [sum(s.values[i] for s in bars) for i in range(len(categories))]
    if not categories or (not rate_bars and not any(totals)):
        return f'<p class="empty">No data for: {_e(label)}.</p>'
    shown = [c if len(c) <= 18 else c[:17] + "…" for c in categories]
    grouped = groups is not None and len(set(groups)) > 1
    right = 62 if line else 16
    slanted = max(len(c) for c in shown) * 7 + 4 > (width - 64 - right) / len(categories)
    bottom = (86 if slanted else 40) + (16 if grouped else 0)
    frame = _Frame(64, 22, width - 64 - right, height - 22 - bottom, len(categories))
    percent = rate_bars is not None
    step = 0.2 if percent else _nice_step(max(totals))
    top_value = 1.0 if percent else step * max(1, math.ceil(max(totals) / step))
    bar_w = max(1.0, frame.band * 0.7)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
    ]
    tick = 0.0
    while tick <= top_value + 1e-9:
        ty = frame.y(tick / top_value)
        text = f"{tick * 100:.0f}%" if percent else f"{tick:g}"
        parts.append(f'<line x1="{frame.left}" x2="{frame.left + frame.width}" y1="{ty:.1f}" '
                     f'y2="{ty:.1f}" class="grid"/><text x="{frame.left - 6}" y="{ty + 4:.1f}" '
                     f'class="tick" text-anchor="end">{text}</text>')  # fmt: skip
        tick += step
    mid_y = frame.top + frame.height / 2
    parts.append(
        f'<text class="title" text-anchor="middle" transform="translate(16 {mid_y:.1f}) '
        f'rotate(-90)">{_e(y_title)}</text>'
    )
    if line:
        for fraction in (0.0, 0.5, 1.0):
            parts.append(
                f'<text x="{frame.left + frame.width + 6}" y="{frame.y(fraction) + 4:.1f}" '
                f'class="tick">{fraction * 100:.0f}%</text>'
            )
        parts.append(
            f'<text class="title" text-anchor="middle" transform="translate({width - 8} '
            f'{mid_y:.1f}) rotate(90)">{_e(line.name)}</text>'
        )
    for i, category in enumerate(categories):
        x, where = frame.center(i) - bar_w / 2, _e(category)
        if groups is not None and grouped:
            where += f" ({_e(groups[i])})"
        base = 0
        for series in bars:
            value = series.values[i]
            if value > 0:
                y_top, y_base = frame.y((base + value) / top_value), frame.y(base / top_value)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(0.5, y_base - y_top):.1f}" fill="{series.color}">'
                    f"<title>{where}: {_e(series.name)} {value:,} of {totals[i]:,}</title></rect>"
                )
            base += value
        if bars and totals[i]:
            parts.append(
                f'<text x="{frame.center(i):.1f}" y="{frame.y(totals[i] / top_value) - 4:.1f}" '
                f'class="count" text-anchor="middle">{totals[i]:,}</text>'
            )
        if rate_bars is not None:
            rate = rate_bars.value(i)
            tip = f"<title>{where}: {_e(rate_bars.name)} {_e(rate_bars.text(i))}</title>"
            if rate is not None:
                y_top = frame.y(rate)
                parts.append(
                    f'<rect x="{x:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(0.5, frame.y(0) - y_top):.1f}" fill="{rate_bars.color}">'
                    f"{tip}</rect>"
                )
            text = rate_bars.text(i) if rate is not None else f"n = {rate_bars.denominators[i]}"
            parts.append(
                f'<text x="{frame.center(i):.1f}" y="{frame.y(rate or 0) - 4:.1f}" '
                f'class="count" text-anchor="middle">{_e(text)}{tip}</text>'
            )
        ly = frame.top + frame.height + 14
        if slanted:
            parts.append(
                f'<text x="{frame.center(i) + 3:.1f}" y="{ly}" class="tick" text-anchor="end" '
                f'transform="rotate(-35 {frame.center(i) + 3:.1f} {ly})">{_e(shown[i])}</text>'
            )
        elif i % max(1, math.ceil(len(categories) / 24)) == 0:
            parts.append(
                f'<text x="{frame.center(i):.1f}" y="{ly + 2}" class="tick" '
                f'text-anchor="middle">{_e(shown[i])}</text>'
            )
    if line:
        parts.extend(_line(frame, categories, line, connect))
    axis_y = frame.y(0)
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.left + frame.width}" y1="{axis_y}" y2="{axis_y}" '
        'class="axis"/>'
    )
    if groups is not None and grouped:
        parts.extend(_group_labels(frame, groups, height - 24))
    parts.append(
        f'<text x="{frame.left + frame.width / 2:.1f}" y="{height - 6}" class="title" '
        f'text-anchor="middle">{_e(x_title)}</text></svg>'
    )
    keys = [(s.name, s.color) for s in bars] + [(r.name, r.color) for r in (rate_bars, line) if r]
    legend = "".join(
        f'<span><i style="background:{color}"></i>{_e(name)}</span>' for name, color in keys
    )
    return "".join(parts) + f'<div class="legend">{legend}</div>'


def _line(frame: _Frame, categories: Sequence[str], line: Rate, connect: bool) -> list[str]:
    """The rate's points (a tooltip each) and, when `connect`, the line through neighbours."""
    parts: list[str] = []
    points = [
        (i, frame.center(i), frame.y(min(1.0, max(0.0, value))))
        for i in range(len(categories))
        if (value := line.value(i)) is not None
    ]
    if connect:
        for (i, x1, y1), (j, x2, y2) in zip(points, points[1:], strict=False):
            if j == i + 1:  # no line across a category whose rate is left out
                parts.append(
                    f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                    f'stroke="{line.color}" stroke-width="2.5"/>'
                )
    for i, x, y in points:
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{line.color}" stroke="#fff">'
            f"<title>{_e(categories[i])}: {_e(line.name)} {_e(line.text(i))}</title></circle>"
        )
    return parts


def _group_labels(frame: _Frame, groups: Sequence[str], y: float) -> list[str]:
    """The provider under each run of its categories, with a bracket line."""
    parts: list[str] = []
    start = 0
    for i in range(1, len(groups) + 1):
        if i == len(groups) or groups[i] != groups[start]:
            x1, x2 = frame.left + frame.band * start + 3, frame.left + frame.band * i - 3
            parts.append(
                f'<line x1="{x1:.1f}" x2="{x2:.1f}" y1="{y - 12}" y2="{y - 12}" class="axis"/>'
                f'<text x="{(x1 + x2) / 2:.1f}" y="{y}" class="group" '
                f'text-anchor="middle">{_e(groups[start])}</text>'
            )
            start = i
    return parts


# ------------------------------------------------------------------------------- sections


def _tile(name: str, value: str, note: str) -> str:
    return (
        f'<div class="tile"><div class="name">{_e(name)}</div>'
        f'<div class="value">{_e(value)}</div><div class="note">{_e(note)}</div></div>'
    )


def _of(numerator: int, denominator: int, what: str) -> str:
    return f"{numerator:,} of {denominator:,} {what}" if denominator else "none counted"


def _tiles(data: dict[str, Any]) -> str:
    t, fcr = data["totals"], data["fcr"]
    sl_seconds = t["service_level_seconds"] or 20
    tiles = (
        _tile("Offered", f"{t['offered']:,}", "calls offered to call centers"),
        _tile(
            "Service level",
            _pct(_ratio(t["within_sl"], t["sl_base"])),
            _of(t["within_sl"], t["sl_base"], f"answered within {sl_seconds} s"),
        ),
        _tile(
            "Service level in hours",
            _pct(_ratio(t["within_sl_in_hours"], t["sl_in_hours_base"])),
            _of(t["within_sl_in_hours"], t["sl_in_hours_base"], "offered while open"),
        ),
        _tile(
            "Average speed of answer",
            _duration(_ratio(t["speed_sum"], t["speed_known"])),
            f"over {t['speed_known']:,} answered offers",
        ),
        _tile(
            "Abandonment",
            _pct(_ratio(t["counted_abandoned"], t["sl_base"])),
            _of(t["counted_abandoned"], t["sl_base"], "hung up before an answer"),
        ),
        _tile(
            "Average handle time",
            _duration(_ratio(t["handle_ms"], t["handle_known"])),
            f"talk + hold, over {t['handle_known']:,} handled offers",
        ),
        _tile(
            "Transfer rate",
            _pct(_ratio(t["transferred"], t["handled"])),
            _of(t["transferred"], t["handled"], "handled offers"),
        ),
        _tile(
            "First-contact resolution",
            _pct(_ratio(fcr["resolved"], fcr["conversations_handled"])),
            _of(fcr["resolved"], fcr["conversations_handled"], "handled, no repeat contact"),
        ),
    )
    return '<div class="tiles">' + "".join(tiles) + "</div>"


def _volume_by_hour(data: dict[str, Any]) -> str:
    hours = {row["local_hour"]: row for row in data["by_hour"]}
    rows = [hours.get(h, {}) for h in range(24)]

    def column(key: str) -> list[int]:
        return [int(row.get(key, 0)) for row in rows]

    offered, answered = column("offered"), column("answered")
    zone = data["totals"]["reporting_timezone"] or "UTC"
    return chart(
        [f"{h:02d}" for h in range(24)],
        bars=[
            Series("answered", answered, BLUE),
            Series("not answered", [o - a for o, a in zip(offered, answered, strict=True)], ORANGE),
        ],
        line=Rate("service level", column("within_sl"), column("sl_base"), GREEN),
        label="offers and service level by local hour of day",
        x_title=f"hour of day the offer arrived ({zone})",
        y_title="offers",
    )


def _outcomes_by_center(data: dict[str, Any]) -> str:
    rows = data["by_center"]

    def column(key: str) -> list[int]:
        return [int(row[key]) for row in rows]

    return chart(
        [row["call_center"] for row in rows],
        bars=[
            Series("answered", column("answered"), BLUE),
            Series("abandoned", column("abandoned"), RED),
            Series("voicemail", column("voicemail"), PURPLE),
            Series("overflow", column("overflow"), SKY),
            Series("in progress", column("in_progress"), GREY),
        ],
        line=Rate("abandonment rate", column("counted_abandoned"), column("sl_base"), INK),
        connect=False,
        groups=[provider_name(row["provider"]) for row in rows],
        label="offer outcomes and abandonment rate per call center",
        x_title="call center",
        y_title="offers",
    )


def _wait_distribution(data: dict[str, Any]) -> str:
    answered = [0] * len(WAIT_BUCKETS)
    unanswered = [0] * len(WAIT_BUCKETS)
    for row in data["waits"]:
        for i, (_, low, high) in enumerate(WAIT_BUCKETS):
            if row["wait_ms"] >= low and (high is None or row["wait_ms"] < high):
                (answered if row["is_answered"] else unanswered)[i] += 1
                break
        else:  # a negative wait (contradicting leg dates) counts in the first bucket
            (answered if row["is_answered"] else unanswered)[0] += 1
    return chart(
        [name for name, _, _ in WAIT_BUCKETS],
        bars=[Series("answered", answered, BLUE), Series("not answered", unanswered, ORANGE)],
        label="distribution of waits of finished offers",
        x_title="wait: from queue or first ring to answer, voicemail or hang-up",
        y_title="finished offers",
    )


def _transfer_rates(data: dict[str, Any]) -> str:
    rows = [row for row in data["by_center"] if row["handled"]]
    return chart(
        [row["call_center"] for row in rows],
        rate_bars=Rate(
            "transfer rate",
            [int(row["transferred"]) for row in rows],
            [int(row["handled"]) for row in rows],
            GREEN,
        ),
        groups=[provider_name(row["provider"]) for row in rows],
        label="transfer rate of handled offers per call center",
        x_title="call center",
        y_title="handled offers transferred",
    )


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int = 1) -> str:
    head = "".join(
        f'<th class="num">{_e(h)}</th>' if i >= numeric_from else f"<th>{_e(h)}</th>"
        for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            (f'<td class="num">{_e(cell)}</td>' if i >= numeric_from else f"<td>{_e(cell)}</td>")
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _provider_table(
    data: dict[str, Any],
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    sources: Sequence[dict[str, Any]],
    at: int = 0,
) -> str:
    """A table of `rows` (one per row of `sources`) with a Provider column at position `at`
    when the marts hold both providers; the columns after the name (and provider) are
    numeric."""
    if not rows:
        return '<p class="empty">None.</p>'
    if len(data["providers"]) < 2:
        return _table(headers, rows, numeric_from=at + 1)
    return _table(
        [*headers[:at], "Provider", *headers[at:]],
        [
            [*row[:at], provider_name(source["provider"]), *row[at:]]
            for row, source in zip(rows, sources, strict=True)
        ],
        numeric_from=at + 2,
    )


def _center_table(data: dict[str, Any]) -> str:
    rows = [
        (
            row["call_center"],
            f"{row['offered']:,}",
            f"{row['answered']:,}",
            f"{row['abandoned']:,}",
            f"{row['voicemail']:,}",
            f"{row['overflow']:,}",
            f"{row['in_progress']:,}",
            rate_text(row["within_sl"], row["sl_base"]),
            rate_text(row["counted_abandoned"], row["sl_base"]),
            _duration(_ratio(row["speed_sum"], row["speed_known"])),
            rate_text(row["transferred"], row["handled"]),
        )
        for row in data["by_center"]
    ]
    headers = ("Call center", "Offered", "Answered", "Abandoned", "Voicemail", "Overflow",
               "In progress", "Service level", "Abandonment", "ASA", "Transfer rate")  # fmt: skip
    return _provider_table(data, headers, rows, data["by_center"])


def _day_table(data: dict[str, Any]) -> str:
    rows = [
        (
            str(row["reporting_date"]),
            f"{row['offered']:,}",
            f"{row['answered']:,}",
            rate_text(row["within_sl"], row["sl_base"]),
            _duration(_ratio(row["speed_sum"], row["speed_known"])),
            rate_text(row["counted_abandoned"], row["sl_base"]),
            _duration(_ratio(row["handle_ms"], row["handle_known"])),
            rate_text(row["transferred"], row["handled"]),
        )
        for row in data["by_day"]
    ]
    headers = ("Date", "Offered", "Answered", "Service level", "ASA", "Abandonment", "AHT",
               "Transfer rate")  # fmt: skip
    return _provider_table(data, headers, rows, data["by_day"], at=1)


AGENT_LEGEND = (
    ("Offered", "legs that rang the agent: calls from a call center's queue and direct inbound "
     "calls"),
    ("Answered", "offered legs the agent connected"),
    ("Missed", "offered legs that ended without the agent connecting, including rings that a "
     "colleague answered first (not Dialpad's call-center \"missed\")"),
    ("Outbound", "calls the agent placed"),
    ("Handled", "the agent's legs that connected and ended, inbound or outbound"),
    ("AHT", "average handle time: talk + hold + after-call work over handled legs"),
    ("ACW", "average after-call work: the wrapup status that followed a handled leg within "
     "10 s, over the legs whose agent's status feed covers them"),
    ("Transfer rate", "handled legs the agent transferred"),
    ("FCR", "first-contact resolution: conversations the agent handled that no repeat contact "
     "from the same number followed"),
    ("Answer delay", "average time from the first ring to the agent's answer"),
    ("Staffed", "time on duty (every status but unavailable), from agent status events"),
    ("Occupancy", "time on calls or in wrapup, of the time available, on calls or in wrapup"),
)  # fmt: skip


def _agent_table(data: dict[str, Any]) -> str:
    rows = [
        (
            row["agent"],
            f"{row['offered']:,}",
            f"{row['answered']:,}",
            f"{row['missed']:,}",
            f"{row['outbound']:,}",
            f"{row['handled']:,}",
            _duration(_ratio(row["handle_ms"], row["handle_known"])),
            rate_text(row["transfers_out"], row["handled"]),
            rate_text(row["resolved"], row["conversations"]),
            _duration(_ratio(row["answer_delay_sum"], row["answer_delay_known"])),
            _duration(_ratio(row["acw_ms"], row["acw_known"])),
            _hours(row["staffed_ms"]),
            _pct(_ratio(row["busy_ms"], row["occupancy_base_ms"])),
        )
        for row in data["agents"]
    ]
    if not rows:
        return '<p class="empty">No agents.</p>'
    headers = ("Agent", "Offered", "Answered", "Missed", "Outbound", "Handled", "AHT",
               "Transfer rate", "FCR", "Answer delay", "ACW", "Staffed", "Occupancy")  # fmt: skip
    legend = "".join(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>" for term, text in AGENT_LEGEND)
    table = _provider_table(data, headers, rows, data["agents"])
    return f'<dl class="defs">{legend}</dl>{table}'


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
    if isinstance(value, datetime):
        return _when(value)
    return provider_name(str(value))


def data_as_of(data: dict[str, Any]) -> str:
    """The feed's watermark (the latest event time loaded) per provider, from feed_health."""
    marks = [
        f"{_when(row['data_watermark_at'])} ({provider_name(row['provider'])})"
        for row in data["feed_health"]
        if row.get("data_watermark_at") is not None
    ]
    return ", ".join(marks) if marks else "unknown (no feed health in these marts)"


STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       background: #ffffff; max-width: 1360px; margin: 0 auto; padding: 20px 28px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 6px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
p.meta, p.caption { color: #57606a; margin: 2px 0 8px; font-size: 13px; }
p.meta b { color: #1f2328; font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 12px;
         margin: 16px 0; }
.tile { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; background: #f6f8fa; }
.tile .name { font-size: 13px; color: #57606a; }
.tile .value { font-size: 26px; font-weight: 600; margin: 2px 0; }
.tile .note { font-size: 12px; color: #57606a; }
.pair { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 560px), 1fr));
        gap: 8px 32px; }
.pair > div { min-width: 0; }
.figure { overflow-x: auto; }
svg.chart { width: 100%; min-width: 420px; height: auto; display: block; }
svg .grid { stroke: #e6e8eb; stroke-width: 1; }
svg .axis { stroke: #57606a; stroke-width: 1; }
svg .tick { font-size: 11px; fill: #57606a; }
svg .count { font-size: 10px; fill: #1f2328; }
svg .title { font-size: 12px; fill: #1f2328; }
svg .group { font-size: 12px; fill: #1f2328; font-weight: 600; }
.legend { font-size: 12px; color: #57606a; margin: 2px 0 0 64px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px;
            border-radius: 2px; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { padding: 4px 8px; border-bottom: 1px solid #e6e8eb; text-align: left;
         white-space: nowrap; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
dl.defs { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; font-size: 13px;
          color: #57606a; margin: 6px 0 12px; }
dl.defs dt { font-weight: 600; color: #1f2328; }
dl.defs dd { margin: 0; }
.empty { color: #57606a; font-style: italic; }
@media (max-width: 900px) { body { padding: 12px 14px; } }
@media (max-width: 600px) { .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
"""


def render_report(data: dict[str, Any], source: str) -> str:
    """The report's HTML for data read by `read_report_data` (pure: no I/O)."""
    t = data["totals"]
    period = f"{t['first_date']} to {t['last_date']}" if t["first_date"] else "no offers"
    sl_seconds = t["service_level_seconds"] or 20
    zone = t["reporting_timezone"] or "UTC"
    providers = ", ".join(provider_name(p) for p in data["providers"]) or "none"
    title = f"callmart KPI report: {source}"
    sections = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta"><b>Generated</b> {_e(_when(data["generated_at"]))} · '
        f"<b>Data as of</b> {_e(data_as_of(data))} (the latest event loaded)</p>",
        f'<p class="meta"><b>Period</b> {_e(period)} (local dates, {_e(zone)}) · '
        f"<b>Providers</b> {_e(providers)} · <b>Service level</b> answered within "
        f"{_e(sl_seconds)} s · Definitions: docs/metrics.md of the callmart repository.</p>",
        f'<p class="meta">Every rate is shown with its counts, e.g. "62% (31/50)". Charts leave '
        f"out a rate over fewer than {MIN_RATE_BASE} offers (its counts stay in the tooltip and "
        "the tables); the number above a bar is its offers.</p>",
        _tiles(data),
        '<div class="pair"><div>',
        "<h2>Volume and service level by hour</h2>",
        '<p class="caption">Offers to call centers by the local hour they arrived in, summed over '
        "the period; the line is that hour's service level (answered within the threshold ÷ "
        "offers that finished, short abandons excluded: abandons, voicemail and overflow are "
        "misses).</p>",
        f'<div class="figure">{_volume_by_hour(data)}</div>',
        "</div><div>",
        "<h2>Outcomes and abandonment</h2>",
        '<p class="caption">Offers per call center by outcome; the dots are the abandonment rate '
        "(hung up before an answer ÷ the service-level base).</p>",
        f'<div class="figure">{_outcomes_by_center(data)}</div>',
        "</div><div>",
        "<h2>Wait-time distribution</h2>",
        '<p class="caption">Finished offers by how long the caller waited for an agent.</p>',
        f'<div class="figure">{_wait_distribution(data)}</div>',
        "</div><div>",
        "<h2>Transfer rate</h2>",
        '<p class="caption">Handled offers whose entry point or answering agent leg was '
        'transferred (IVR routing is not a transfer); "n = 3" marks a rate over too few '
        "offers to draw.</p>",
        f'<div class="figure">{_transfer_rates(data)}</div>',
        "</div></div>",
        "<h2>Call centers</h2>",
        '<p class="caption">Over the period. Abandoned counts every caller who hung up before an '
        "answer; Abandonment leaves out short abandons; ASA = average speed of answer.</p>",
        _center_table(data),
        "<h2>By day</h2>",
        '<p class="caption">Rates of each day from the sums of its hours.</p>',
        _day_table(data),
        "<h2>Agents</h2>",
        '<p class="caption">Over the period, counted in legs (one call can ring several '
        "agents). ACW, staffed time and occupancy come from Dialpad's agent status events: "
        "\u201c\u2013\u201d where an agent has none.</p>",
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
