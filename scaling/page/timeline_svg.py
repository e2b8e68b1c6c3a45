"""The weekly timeline as server-rendered SVG: business-hour bars, closed days, overrides and "now" (pure).

One row per project over 7 local days. By default every row is drawn in **its project's own local time**
(the schedule's `timezone`), like `scaling.schedule.timeline.week_chart`: the column "Mon 09:00" means 09:00 on that
Monday where the project is, so office hours line up whatever the zone, and the "now" mark sits at a
different place in each row. With `display_zone` every row is drawn in that one zone instead, and "now" is
a single line across all rows.

The x axis is local wall time: each local day is `DAY_WIDTH` pixels for 24 wall-clock hours, so a DST gap
is an hour no bar can cover and a fold squeezes its repeated hour into one. Bars come from
`Schedule.transitions`, so they agree exactly with `is_up` / `next_change`.

The SVG is self-contained (inline style, no fonts, scripts or images loaded from anywhere) and carries
data attributes (`data-project`, `data-start`, `data-end` in UTC) so pages and tests can read it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from xml.sax.saxutils import escape, quoteattr
from zoneinfo import ZoneInfo

import holidays as _holidays

from scaling.schedule.grammar import EPOCH_ORDINAL, parse_closed_dates
from scaling.schedule.hours import Schedule

_UTC = UTC
LABEL_WIDTH = 190
DAY_WIDTH = 120
ROW_HEIGHT = 30
HEADER_HEIGHT = 42
LEGEND_HEIGHT = 34
BAR_INSET = 7  # bar padding inside a row; overrides are drawn thinner on top of it
_NAME_CHARS = 24


@dataclass(frozen=True)
class TimelineRow:
    """One project's row: its name and schedule; `note` (e.g. a row error) shows as a tooltip and a mark."""

    name: str
    schedule: Schedule
    note: str = ""


@dataclass(frozen=True)
class OverrideSpan:
    """An override to draw over a project's schedule: `up` (keep up) or down, from `start` until `end`
    (None: open-ended, drawn to the edge). `label` is the tooltip (action, actor, reason)."""

    project: str
    start: datetime
    end: datetime | None
    up: bool
    label: str = ""


@dataclass(frozen=True)
class _Axis:
    """Maps instants to x pixels by their wall time in `zone`, days counted from `first`."""

    zone: ZoneInfo
    first: date
    days: int

    @property
    def width(self) -> float:
        return self.days * DAY_WIDTH

    def x(self, at: datetime) -> float:
        wall = at.astimezone(self.zone).replace(tzinfo=None)
        hours = (wall - datetime.combine(self.first, time())).total_seconds() / 3600
        return LABEL_WIDTH + min(max(hours, 0.0), self.days * 24.0) * DAY_WIDTH / 24

    def bounds(self) -> tuple[datetime, datetime]:
        """Instants safely outside the drawn range (a day of margin covers any UTC offset change)."""
        lo = datetime.combine(self.first, time(), tzinfo=self.zone) - timedelta(days=1)
        hi = datetime.combine(self.first + timedelta(days=self.days), time(), tzinfo=self.zone) + timedelta(days=1)
        return lo.astimezone(_UTC), hi.astimezone(_UTC)


def week_svg(
    rows: Sequence[TimelineRow],
    *,
    overrides: Iterable[OverrideSpan] = (),
    start: date | datetime,
    now: datetime,
    display_zone: str | None = None,
    days: int = 7,
) -> str:
    """The timeline of `rows` for `days` local days from `start` (a date, or a datetime whose date is used).

    Rows are drawn in each schedule's own zone unless `display_zone` (an IANA name) is given. `now` must be
    timezone-aware; it is drawn only when it falls inside the range. Returns the SVG document as text."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"week_svg: now {now.isoformat()} is naive; expected a timezone-aware datetime")
    if not 1 <= days <= 31:
        raise ValueError(f"week_svg: days={days}; expected 1 to 31")
    first = start.date() if isinstance(start, datetime) else start
    shared_zone = ZoneInfo(display_zone) if display_zone else None
    spans_by_project: dict[str, list[OverrideSpan]] = {}
    for span in overrides:
        spans_by_project.setdefault(span.project, []).append(span)

    width = LABEL_WIDTH + days * DAY_WIDTH + 10
    height = HEADER_HEIGHT + max(len(rows), 1) * ROW_HEIGHT + LEGEND_HEIGHT
    where = f"times in {display_zone}" if display_zone else "each project in its local time"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f"aria-label={quoteattr(f'Weekly timeline from {first.isoformat()}, {where}')} "
        f'data-start-date="{first.isoformat()}" data-days="{days}" '
        f"data-zone={quoteattr(display_zone or 'local')}>",
        _STYLE,
        _DEFS,
    ]
    out += _header(first, days)
    if not rows:
        out.append(f'<text class="empty" x="{LABEL_WIDTH}" y="{HEADER_HEIGHT + 19}">no projects</text>')
    for index, row in enumerate(rows):
        axis = _Axis(shared_zone or row.schedule.zone, first, days)
        top = HEADER_HEIGHT + index * ROW_HEIGHT
        out += _row(row, axis, top, spans_by_project.get(row.name, ()), now, shared=shared_zone is not None)
    if shared_zone is not None:
        axis = _Axis(shared_zone, first, days)
        lo, hi = axis.bounds()
        if lo < now < hi and LABEL_WIDTH < axis.x(now) < LABEL_WIDTH + axis.width:
            x = axis.x(now)
            bottom = HEADER_HEIGHT + max(len(rows), 1) * ROW_HEIGHT
            out.append(
                f'<line class="now" x1="{x:.1f}" y1="{HEADER_HEIGHT - 4}" x2="{x:.1f}" y2="{bottom}">'
                f"<title>now {_clock(now.astimezone(shared_zone))}</title></line>"
            )
    out += _legend(HEADER_HEIGHT + max(len(rows), 1) * ROW_HEIGHT + 8, where)
    out.append("</svg>")
    return "\n".join(out)


def closed_days(schedule: Schedule, first: date, last: date) -> dict[date, str]:
    """The local dates in [first, last] that the schedule's holidays or closed dates close, with a label."""
    out: dict[date, str] = {}
    if schedule.closed_dates:
        ranges, _ = parse_closed_dates(schedule.closed_dates)
        first_day, last_day = first.toordinal() - EPOCH_ORDINAL, last.toordinal() - EPOCH_ORDINAL
        for lo, hi in ranges:
            for day in range(max(lo, first_day), min(hi, last_day) + 1):
                out[date.fromordinal(day + EPOCH_ORDINAL)] = "closed date"
    if schedule.holidays:
        country, _, subdivision = schedule.holidays.partition("-")
        calendar = _holidays.country_holidays(
            country, subdiv=subdivision or None, years=range(first.year, last.year + 1)
        )
        for holiday, name in calendar.items():
            if first <= holiday <= last:
                out[holiday] = f"holiday: {name}"
    return out


def up_spans(schedule: Schedule, lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """The [start, end) instants in [lo, hi] during which the schedule is up (clipped to the range)."""
    spans: list[tuple[datetime, datetime]] = []
    opened = lo if schedule.is_up(lo) else None
    for at, up in schedule.transitions(lo, hi):
        if up and opened is None:
            opened = at
        elif not up and opened is not None:
            spans.append((opened, at))
            opened = None
    if opened is not None and opened < hi:
        spans.append((opened, hi))
    return spans


# -- pieces -----------------------------------------------------------------------------------------


def _header(first: date, days: int) -> list[str]:
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        x = LABEL_WIDTH + i * DAY_WIDTH
        weekend = " weekend" if day.weekday() >= 5 else ""
        out.append(f'<text class="day{weekend}" x="{x + 4}" y="16">{day.strftime("%a %d %b")}</text>')
        for hour in (6, 12, 18):
            hx = x + hour * DAY_WIDTH / 24
            out.append(f'<text class="hour" x="{hx:.1f}" y="{HEADER_HEIGHT - 8}">{hour:02d}</text>')
    return out


def _row(
    row: TimelineRow, axis: _Axis, top: int, spans: Sequence[OverrideSpan], now: datetime, *, shared: bool
) -> list[str]:
    name = row.name if len(row.name) <= _NAME_CHARS else row.name[: _NAME_CHARS - 1] + "…"
    project = quoteattr(row.name)
    out = [f'<g class="row" data-project={project} data-zone={quoteattr(axis.zone.key)}>']
    out.append(f'<rect class="lane" x="{LABEL_WIDTH}" y="{top}" width="{axis.width}" height="{ROW_HEIGHT}"/>')
    tooltip = f"{row.name}: {row.schedule}" + (f" (note: {row.note})" if row.note else "")
    out.append(f'<text class="name" x="6" y="{top + 13}"><title>{escape(tooltip)}</title>{escape(name)}</text>')
    zone_text = row.schedule.timezone + (" ⚠" if row.note else "")
    out.append(f'<text class="zone{" warn" if row.note else ""}" x="6" y="{top + 25}">{escape(zone_text)}</text>')
    for i in range(axis.days):
        day = axis.first + timedelta(days=i)
        if day.weekday() >= 5:
            x = LABEL_WIDTH + i * DAY_WIDTH
            out.append(f'<rect class="weekend" x="{x}" y="{top}" width="{DAY_WIDTH}" height="{ROW_HEIGHT}"/>')
    # Closed days are local dates in the schedule's zone; with a display zone they shift with it.
    own = row.schedule.zone
    closed = closed_days(row.schedule, axis.first - timedelta(days=1), axis.first + timedelta(days=axis.days))
    for day, label in sorted(closed.items()):
        x1 = axis.x(datetime.combine(day, time(), tzinfo=own))
        x2 = axis.x(datetime.combine(day + timedelta(days=1), time(), tzinfo=own))
        if x2 - x1 >= 0.5:
            out.append(
                f'<rect class="closed" data-date="{day.isoformat()}" x="{x1:.1f}" y="{top}" '
                f'width="{x2 - x1:.1f}" height="{ROW_HEIGHT}"><title>{escape(label)} '
                f"({day.isoformat()})</title></rect>"
            )
    for i in range(1, axis.days):
        x = LABEL_WIDTH + i * DAY_WIDTH
        out.append(f'<line class="daysep" x1="{x}" y1="{top}" x2="{x}" y2="{top + ROW_HEIGHT}"/>')
    lo, hi = axis.bounds()
    for start, end in up_spans(row.schedule, lo, hi):
        x1, x2 = axis.x(start), axis.x(end)
        if x2 - x1 < 0.5:  # outside the drawn days, or inside a fold's squeezed hour
            continue
        title = f"up {_clock(start.astimezone(axis.zone))} – {_clock(end.astimezone(axis.zone))}"
        out.append(
            f'<rect class="bar" data-project={project} data-start="{_utc(start)}" data-end="{_utc(end)}" '
            f'x="{x1:.1f}" y="{top + BAR_INSET}" width="{x2 - x1:.1f}" height="{ROW_HEIGHT - 2 * BAR_INSET}" '
            f'rx="2"><title>{escape(title)}</title></rect>'
        )
    for span in spans:
        start = max(span.start, lo)
        end = min(span.end, hi) if span.end is not None else hi
        x1, x2 = axis.x(start), axis.x(end)
        if end <= start or x2 - x1 < 0.5:
            continue
        kind = "up" if span.up else "down"
        until = _clock(span.end.astimezone(axis.zone)) if span.end is not None else "further notice"
        title = f"override: {'keep up' if span.up else 'down'} until {until}"
        title += f" — {span.label}" if span.label else ""
        out.append(
            f'<rect class="override override-{kind}" data-project={project} data-start="{_utc(span.start)}" '
            f'data-end="{_utc(span.end) if span.end else ""}" x="{x1:.1f}" y="{top + 3}" width="{x2 - x1:.1f}" '
            f'height="{ROW_HEIGHT - 6}"><title>{escape(title)}</title></rect>'
        )
    if not shared and lo < now < hi:
        now_x = axis.x(now)
        if LABEL_WIDTH < now_x < LABEL_WIDTH + axis.width:
            out.append(
                f'<line class="now" x1="{now_x:.1f}" y1="{top}" x2="{now_x:.1f}" y2="{top + ROW_HEIGHT}">'
                f"<title>now {_clock(now.astimezone(axis.zone))}</title></line>"
            )
    out.append("</g>")
    return out


def _legend(y: int, where: str) -> list[str]:
    items = [
        ("bar", "business hours (up)"),
        ("override override-up", "override: keep up"),
        ("override override-down", "override: down"),
        ("closed", "holiday / closed date"),
    ]
    out = ['<g class="legend">']
    x = LABEL_WIDTH
    for css, text in items:
        out.append(f'<rect class="{css}" x="{x}" y="{y}" width="16" height="12"/>')
        out.append(f'<text x="{x + 21}" y="{y + 10}">{text}</text>')
        x += 30 + 7 * len(text)
    out.append(f'<line class="now" x1="{x + 4}" y1="{y - 1}" x2="{x + 4}" y2="{y + 13}"/>')
    out.append(f'<text x="{x + 11}" y="{y + 10}">now</text>')
    out.append(f'<text class="hint" x="6" y="{y + 10}">{escape(where)}</text>')
    out.append("</g>")
    return out


def _clock(at: datetime) -> str:
    return at.strftime("%a %d %b %H:%M %Z")


def _utc(at: datetime) -> str:
    return at.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_STYLE = """<style>
.timeline { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 11px; }
.timeline text { fill: #333; }
.timeline .day { font-weight: 600; } .timeline .day.weekend { fill: #777; }
.timeline .hour, .timeline .zone, .timeline .hint { fill: #888; font-size: 9.5px; }
.timeline .zone.warn { fill: #b3261e; }
.timeline .name { font-weight: 600; }
.timeline .lane { fill: #fafafa; stroke: #e4e4e4; }
.timeline .weekend { fill: #f0f0f0; }
.timeline .daysep { stroke: #d0d0d0; }
.timeline .closed { fill: url(#tl-hatch); stroke: #9e9e9e; stroke-width: 0.5; }
.timeline .bar { fill: #2e7d32; }
.timeline .override { stroke-width: 1.2; fill-opacity: 0.85; }
.timeline .override-up { fill: url(#tl-up); stroke: #1565c0; }
.timeline .override-down { fill: url(#tl-down); stroke: #c62828; }
.timeline .now { stroke: #e65100; stroke-width: 2; }
</style>"""

_DEFS = """<defs>
<pattern id="tl-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#eeeeee"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#bdbdbd" stroke-width="2"/></pattern>
<pattern id="tl-up" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
<rect width="6" height="6" fill="#bbdefb"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#1e88e5" stroke-width="2.5"/></pattern>
<pattern id="tl-down" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)">
<rect width="6" height="6" fill="#ffcdd2"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#e53935" stroke-width="2.5"/></pattern>
</defs>"""
