"""Week plans: a schedule's coming transitions and a compact text chart of up/down hours (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import pairwise

from scaling.schedule.hours import Schedule

_UTC = UTC
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Transition:
    """One change of a project's desired state.

    `at_utc` is the instant in UTC, `at_local` the same instant in the project's time zone (so its
    offset shows whether DST applies), `up` the state from that instant on.
    """

    at_utc: datetime
    at_local: datetime
    up: bool


@dataclass(frozen=True)
class ChartStyle:
    """The characters of a week chart: `up` / `down` for whole cells, `mixed` for a cell with a change
    inside it, `skipped` for a local hour that does not exist (DST gap), `day_separator` between days."""

    up: str
    down: str
    mixed: str
    skipped: str
    day_separator: str


UNICODE = ChartStyle(up="█", down="·", mixed="▒", skipped=" ", day_separator="│")
ASCII = ChartStyle(up="#", down=".", mixed="+", skipped=" ", day_separator="|")


def week_transitions(schedule: Schedule, *, start: datetime, days: int = 7) -> list[Transition]:
    """The transitions of `schedule` in (start, start + days], with local times in `schedule.zone`.

    A change exactly at `start` is not listed: at `start` the project is already in that state."""
    zone = schedule.zone
    end = start + timedelta(days=days)
    return [Transition(at_utc=at, at_local=at.astimezone(zone), up=up) for at, up in schedule.transitions(start, end)]


def week_chart(
    rows: Sequence[tuple[str, Schedule, tzinfo]],
    *,
    start: datetime,
    days: int = 7,
    cell_minutes: int = 60,
    style: ChartStyle = UNICODE,
) -> str:
    """A text chart of `days` local days from `start`'s calendar date, one line per (name, schedule, zone).

    Every row is drawn in its own zone's local time, so column "Mon 09:00" means 09:00 on that Monday
    where the project is. One character per `cell_minutes` (a divisor of 1440): `style.up` when the
    project is up for the whole cell, `style.down` when down, `style.mixed` when it changes inside the
    cell, `style.skipped` for local time that a DST gap skips. Two header lines (dates, hours) above,
    a legend below.
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"week_chart: start {start.isoformat()} is naive; expected a timezone-aware datetime")
    if days < 1:
        raise ValueError(f"week_chart: days={days}; expected at least 1")
    if cell_minutes < 1 or 1440 % cell_minutes:
        raise ValueError(f"week_chart: cell_minutes={cell_minutes}; expected a divisor of 1440 (15, 30, 60, 120, ...)")
    dates = [start.date() + timedelta(days=i) for i in range(days)]
    per_day = 1440 // cell_minutes
    names = [name for name, _, _ in rows]
    zones = [_zone_name(zone) for _, _, zone in rows]
    name_width = max([len(n) for n in names] + [0])
    zone_width = max([len(z) for z in zones] + [0])
    indent = " " * (name_width + zone_width + 2)
    lines = [
        (indent + style.day_separator.join(_day_label(d, per_day) for d in dates)).rstrip(),
        (indent + style.day_separator.join(_hour_ruler(per_day, cell_minutes) for _ in dates)).rstrip(),
    ]
    any_skipped = False
    bounds_by_zone: dict[str, list[datetime]] = {}  # rows in one zone share their cell edges
    for (name, schedule, zone), zone_name in zip(rows, zones, strict=True):
        if zone_name not in bounds_by_zone:
            bounds_by_zone[zone_name] = _cell_bounds(dates, cell_minutes, zone)
        days_cells = _row_cells(schedule, bounds_by_zone[zone_name], per_day=per_day, style=style)
        any_skipped |= any(style.skipped in cells for cells in days_cells)
        lines.append(f"{name:<{name_width}} {zone_name:<{zone_width}} " + style.day_separator.join(days_cells))
    legend = f"{style.up} up  {style.down} down  {style.mixed} changes within the cell"
    if any_skipped:
        legend += f"  '{style.skipped}' hour skipped by DST"
    lines.append(f"{legend}  ({cell_minutes}-minute cells, each project in its local time)")
    return "\n".join(lines)


def _row_cells(schedule: Schedule, bounds: list[datetime], *, per_day: int, style: ChartStyle) -> list[str]:
    """One string of cells per local date; `bounds` are the cell edges as instants (see `_cell_bounds`)."""
    changes = schedule.transitions(bounds[0], bounds[-1])
    state = schedule.is_up(bounds[0])
    i = 0
    cells = []
    for lo, hi in pairwise(bounds):
        if lo >= hi:  # the cell's wall times do not exist (DST gap)
            cells.append(style.skipped)
            continue
        while i < len(changes) and changes[i][0] <= lo:
            state = changes[i][1]
            i += 1
        if i < len(changes) and changes[i][0] < hi:
            cells.append(style.mixed)
        else:
            cells.append(style.up if state else style.down)
    return ["".join(cells[k : k + per_day]) for k in range(0, len(cells), per_day)]


def _cell_bounds(dates: list[date], cell_minutes: int, zone: tzinfo) -> list[datetime]:
    """The instants where the cells of `dates` (local to `zone`) begin, plus the end of the last one."""
    per_day = 1440 // cell_minutes
    bounds = [_local_instant(day, k * cell_minutes, zone) for day in dates for k in range(per_day)]
    bounds.append(_local_instant(dates[-1] + timedelta(days=1), 0, zone))
    return bounds


def _local_instant(day: date, minute: int, zone: tzinfo) -> datetime:
    """The first instant (UTC) whose wall time in `zone` is at or after `day` + `minute`: a repeated
    time maps to its first pass, a skipped time (DST gap) to the instant the gap ends."""
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    first = wall.replace(tzinfo=zone).astimezone(_UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    # In a gap, fold=1 reads the wall time with the offset after the change (an instant before the gap)
    # and fold=0 with the one before (after the gap): the gap's end lies between them.
    lo, hi = sorted((wall.replace(tzinfo=zone, fold=1).astimezone(_UTC), first))
    while hi - lo > _SECOND:
        mid = lo + (hi - lo) / 2
        if mid.astimezone(zone).replace(tzinfo=None) >= wall:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0) if hi.microsecond else hi


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _day_label(day: date, width: int) -> str:
    for label in (day.strftime("%a %d %b"), day.strftime("%a %d"), day.strftime("%a")):
        if len(label) <= width:
            return f"{label:<{width}}"
    return day.strftime("%a")[:width]


def _hour_ruler(per_day: int, cell_minutes: int) -> str:
    """Hour marks every 6 (or 3) hours where the labels fit; blank when the cells are too coarse."""
    for hours in (3, 6):
        step = hours * 60 // cell_minutes
        if step >= 3 and hours * 60 % cell_minutes == 0:
            ruler = [" "] * per_day
            for mark in range(0, per_day, step):
                label = str(mark * cell_minutes // 60)
                ruler[mark : mark + len(label)] = label
            return "".join(ruler[:per_day])
    return " " * per_day
