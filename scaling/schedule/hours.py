"""Business hours: parse kube-downscaler style uptime/downtime specs and answer `is_up` / `next_change`.

Grammar (compatible with kube-downscaler, plus a few unambiguous short forms):

    spec     := "always" | "never" | entry ("," entry)*      case-insensitive keywords, whole value only
    entry    := weekly | absolute                            entries are OR'd
    weekly   := DAYS " " HH:MM "-" HH:MM [" " ZONE]          `Mon-Fri 07:30-20:30 Europe/Berlin`
    DAYS     := DAY | DAY "-" DAY                            inclusive, may wrap (`Fri-Mon`); `Mon`..`Sun`
                                                             or full names, any case
    absolute := ISO "-" ISO                                  `2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00`
                                                             (offset or `Z` required; `/` also separates)

Semantics (every rule below is pinned by tests in tests/schedule/test_schedule*.py):

- A weekly window is start-inclusive, end-exclusive; `24:00` is allowed as end. An end before the start
  crosses midnight (`Mon-Fri 22:00-06:00`): the weekday names the day the window *starts*, so the
  Friday window runs until Saturday 06:00. A window whose start equals its end is rejected (kube-downscaler
  silently never matches it).
- Wall clock: an instant matches a weekly window when its local wall time in the window's zone (the entry's
  own zone, else `timezone`, default UTC) falls inside it. So a DST gap shortens a window (a window
  starting at 02:30 on a spring-forward night opens at 03:00, when the gap ends) and a fold lengthens it (a
  window containing the repeated hour matches both passes). A window edge *inside* the repeated hour is
  crossed twice, so the window briefly closes and reopens (Berlin, 25 Oct 2026, 02:30-04:00: up 02:30-03:00
  CEST, down 02:00-02:30 CET, up again until 04:00 CET). This is the literal rule peers follow; it only
  bites windows with edges between 02:00 and 03:00.
- `at` is an instant: it is converted to UTC with Python's PEP 495 rules before anything else. A
  non-existent wall time (in a gap) is read with the offset before the gap (`fold=0`), an ambiguous one with
  the offset its `fold` selects. Naive datetimes are rejected.
- Absolute entries match `[start, end)` (kube-downscaler includes the end second; half-open makes
  `next_change` well defined and matches its Go successor).
- Holidays (`JP`, `DE-BY`, `US-CA`; country codes and subdivisions of the `holidays` package) and
  `closed_dates` (`2026-12-24, 2026-12-29..2027-01-03`, ranges inclusive) close days:
  * uptime specs: a weekly window that *starts* on a closed local date (in the window's zone) does not open;
    an overnight window that started the evening before still runs into the morning of the closed day.
    `always` counts as the weekly window `Mon-Sun 00:00-24:00` in `timezone`, so it is closed on those days.
  * downtime specs: the whole closed local date (in `timezone`) is downtime.
  * absolute entries win over both (an absolute uptime entry opens even on a holiday).
- Downtime specs invert: `is_up` is true when no downtime entry (and no closed day) matches.

`next_change` and `transitions` never step through time: per zone they split time into spans of constant
UTC offset, map each window occurrence's wall-clock interval into each span arithmetically, and merge.
`is_up` evaluates the rule literally (wall time per entry), so the property tests compare two
independent implementations. Reading the texts lives in scaling/schedule/grammar.py.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays as _holidays

from scaling.schedule.grammar import (
    DAY,
    EPOCH,
    EPOCH_ORDINAL,
    SECOND,
    WEEKDAYS,
    ScheduleError,
    Weekly,
    check_zone,
    parse_closed_dates,
    parse_holidays,
    parse_spec,
    to_seconds,
)

__all__ = ["DAY", "WEEKDAYS", "Schedule", "ScheduleError", "parse"]

_UTC = UTC
# Offsets and holidays repeat yearly, so a schedule that changes at all changes within a year of its last
# dated item (absolute entry, closed date); searching two years proves "never changes" safely.
_SEARCH_HORIZON = 2 * 366 * DAY
_MAX_TS = (datetime(9000, 1, 1, tzinfo=_UTC) - EPOCH) // SECOND


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule; build it with `parse`. Immutable; equal when the normalised texts are equal.

    `kind` is "uptime" or "downtime"; `spec` is the normalised spec text (round-trips through `parse`
    with the same `timezone`); `holidays` / `closed_dates` are normalised too (None when not set).
    """

    kind: str
    spec: str
    timezone: str = "UTC"
    holidays: str | None = None
    closed_dates: str | None = None
    _weekly: Weekly = field(default=(), repr=False, compare=False)
    _absolute: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)
    _holiday_key: tuple[str, str | None] | None = field(default=None, repr=False, compare=False)
    _closed: tuple[tuple[int, int], ...] = field(default=(), repr=False, compare=False)

    @property
    def zone(self) -> ZoneInfo:
        """The project's time zone (the default for entries without one)."""
        return ZoneInfo(self.timezone)

    @property
    def is_downtime(self) -> bool:
        return self.kind == "downtime"

    @property
    def entries(self) -> tuple[str, ...]:
        """The normalised entries of `spec` (`("always",)` for always)."""
        return tuple(part.strip() for part in self.spec.split(","))

    @property
    def shown_zone(self) -> str | None:
        """The zone to show next to the spec; None when every window names its own zone in the text (the
        TimeZone column then changes nothing, and "Mon-Fri 08:00-19:00 Europe/Berlin (UTC)" misleads)."""
        zones = {zone for zone, _ in self._weekly}
        if zones and self.timezone not in zones and not self._absolute:
            return None
        return self.timezone

    def __str__(self) -> str:
        shown = self.shown_zone
        text = f"{self.kind} {self.spec}" + (f" ({shown})" if shown else "")
        if self.holidays:
            text += f", holidays {self.holidays}"
        if self.closed_dates:
            text += f", closed {self.closed_dates}"
        return text

    def is_up(self, at: datetime) -> bool:
        """Whether the project should be up at the instant `at` (timezone-aware)."""
        return self._matches(to_seconds(at)) != self.is_downtime

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant strictly after `at` where `is_up` changes (UTC), or None if it never does."""
        ts = to_seconds(at)
        end = self._search_end(ts)
        lo, size = ts, 8 * DAY
        while lo < end:
            hi = min(lo + size, end)
            for start, stop in self._match_intervals(lo, hi + 1):
                if lo < start <= hi:
                    return _datetime(start)
                if lo < stop <= hi:
                    return _datetime(stop)
            lo, size = hi, min(size * 4, 128 * DAY)
        return None

    def transitions(self, start: datetime, end: datetime) -> list[tuple[datetime, bool]]:
        """Every instant in (start, end] where `is_up` changes, with the new state; same engine as
        `next_change`, so iterating `next_change` from `start` yields exactly this list."""
        t0, t1 = to_seconds(start), to_seconds(end)
        if t1 < t0:
            raise ValueError(f"transitions: end {end.isoformat()} is before start {start.isoformat()}")
        opens, closes = not self.is_downtime, self.is_downtime
        from_ts = datetime.fromtimestamp  # a year for 1,000 projects is ~400k datetimes: skip a call layer
        out: list[tuple[datetime, bool]] = []
        for lo, hi in self._match_intervals(t0, t1 + 1):
            if t0 < lo <= t1:
                out.append((from_ts(lo, _UTC), opens))
            if t0 < hi <= t1:
                out.append((from_ts(hi, _UTC), closes))
        return out

    # -- the literal rule -------------------------------------------------------------------------

    def _matches(self, ts: int) -> bool:
        for lo, hi in self._absolute:
            if lo <= ts < hi:
                return True
        has_closed = self._holiday_key is not None or bool(self._closed)
        if self.is_downtime and has_closed and self._is_closed((ts + _offset(self.timezone, ts)) // DAY):
            return True
        suppress = has_closed and not self.is_downtime
        for key, patterns in self._weekly:
            day, sec = divmod(ts + _offset(key, ts), DAY)
            weekday = (day + 3) % 7  # day 0 (1970-01-01) was a Thursday
            for start_day, start, end in patterns:
                if start_day == weekday and start <= sec < end and not (suppress and self._is_closed(day)):
                    return True
                # An overnight window that started yesterday.
                overnight = start_day == (weekday - 1) % 7 and start <= sec + DAY < end
                if overnight and not (suppress and self._is_closed(day - 1)):
                    return True
        return False

    def _is_closed(self, day: int) -> bool:
        i = bisect_right(self._closed, (day, float("inf"))) - 1
        if i >= 0 and self._closed[i][0] <= day <= self._closed[i][1]:
            return True
        if self._holiday_key is None:
            return False
        return day in _holiday_days(*self._holiday_key, _year_of_day(day))

    # -- the interval engine ----------------------------------------------------------------------

    def _match_intervals(self, r0: int, r1: int) -> list[list[int]]:
        """Sorted, merged `[start, end)` second ranges, clipped to `[r0, r1)`, where an entry matches.

        Clipping makes `r0` and `r1` artificial edges; callers only read edges strictly inside."""
        pieces: list[tuple[int, int]] = []
        closed = self._closed_days(r0 // DAY - 3, r1 // DAY + 3)
        suppressed = frozenset() if self.is_downtime else closed
        for key, patterns in self._weekly:
            for a, b, offset in _segments(key, r0, r1):
                # In [a, b) the wall clock reads instant + offset, so occurrence `day` of a window
                # [start, end) (seconds of its local day) is the instants [day*DAY + start - offset, ...).
                for start_day, start, end in patterns:
                    first = (a + offset - end) // DAY
                    first += (start_day - first - 3) % 7
                    for day in range(first, (b + offset - start) // DAY + 1, 7):
                        if day in suppressed:
                            continue
                        lo = day * DAY + start - offset
                        hi = lo + end - start
                        if lo < a:
                            lo = a
                        if hi > b:
                            hi = b
                        if lo < hi:
                            pieces.append((lo, hi))
        if self.is_downtime and closed:
            for a, b, offset in _segments(self.timezone, r0, r1):
                for day in closed:
                    lo = max(day * DAY - offset, a)
                    hi = min(day * DAY + DAY - offset, b)
                    if lo < hi:
                        pieces.append((lo, hi))
        for lo, hi in self._absolute:
            lo, hi = max(lo, r0), min(hi, r1)
            if lo < hi:
                pieces.append((lo, hi))
        pieces.sort()
        merged: list[list[int]] = []
        for lo, hi in pieces:
            if merged and lo <= merged[-1][1]:
                if hi > merged[-1][1]:
                    merged[-1][1] = hi
            else:
                merged.append([lo, hi])
        return merged

    def _closed_days(self, first: int, last: int) -> frozenset[int] | set[int]:
        if self._holiday_key is None and not self._closed:
            return frozenset()
        days: set[int] = set()
        for lo, hi in self._closed:
            if hi >= first and lo <= last:
                days.update(range(max(lo, first), min(hi, last) + 1))
        if self._holiday_key is not None:
            for year in range(_year_of_day(first), _year_of_day(last) + 1):
                days |= _holiday_days(*self._holiday_key, year)
        return days

    def _search_end(self, ts: int) -> int:
        """Past this instant nothing can change that has not already changed before it."""
        last_dated = max([hi for _, hi in self._absolute] + [(hi + 2) * DAY for _, hi in self._closed] + [ts])
        if _weekly_is_constant(self._weekly) and self._holiday_key is None and not self._closed:
            return last_dated + 1
        return min(last_dated + _SEARCH_HORIZON, _MAX_TS)


def parse(
    *,
    uptime: str | None = None,
    downtime: str | None = None,
    timezone: str | None = "UTC",
    holidays: str | None = None,
    closed_dates: str | None = None,
) -> Schedule:
    """Parse one project's schedule columns; exactly one of `uptime` / `downtime` (empty means not set).

    Raises ScheduleError (a ValueError) quoting the offending part and saying what is expected."""
    uptime, downtime = _text("uptime", uptime), _text("downtime", downtime)
    timezone, holidays, closed_dates = (
        _text("timezone", timezone),
        _text("holidays", holidays),
        _text("closed dates", closed_dates),
    )
    if uptime and downtime:
        raise ScheduleError(f"both uptime '{uptime}' and downtime '{downtime}' are set; give exactly one of them")
    if not uptime and not downtime:
        raise ScheduleError("neither uptime nor downtime is set; give exactly one of them")
    kind, text = ("uptime", uptime) if uptime else ("downtime", downtime)
    zone_name = timezone or "UTC"
    check_zone(zone_name, where=f"timezone '{zone_name}'")
    spec, weekly, absolute = parse_spec(kind, text, zone_name)
    holiday_key, holiday_text = parse_holidays(holidays) if holidays else (None, None)
    closed, closed_text = parse_closed_dates(closed_dates) if closed_dates else ((), None)
    return Schedule(
        kind=kind,
        spec=spec,
        timezone=zone_name,
        holidays=holiday_text,
        closed_dates=closed_text,
        _weekly=weekly,
        _absolute=absolute,
        _holiday_key=holiday_key,
        _closed=closed,
    )


def _text(name: str, value: object) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScheduleError(f"{name} must be text, got {type(value).__name__} {value!r}")
    return value.strip()


# -- time helpers (integer seconds since the epoch, UTC) -------------------------------------------


def _datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, _UTC)


def _offset(key: str, ts: int) -> int:
    offset = datetime.fromtimestamp(ts, ZoneInfo(key)).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset // SECOND


def _year_of_day(day: int) -> int:
    return date.fromordinal(day + EPOCH_ORDINAL).year


@lru_cache(maxsize=8192)
def _holiday_days(country: str, subdivision: str | None, year: int) -> frozenset[int]:
    calendar = _holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(d.toordinal() - EPOCH_ORDINAL for d in calendar if d.year == year)


@lru_cache(maxsize=4096)
def _zone_changes(key: str, year: int) -> tuple[tuple[int, int], ...]:
    """(instant, new offset) for every UTC-offset change of zone `key` during `year` (UTC)."""
    start = (datetime(year, 1, 1, tzinfo=_UTC) - EPOCH) // SECOND
    stop = (datetime(year + 1, 1, 1, tzinfo=_UTC) - EPOCH) // SECOND
    step = 6 * 3600  # no zone changes its offset twice within six hours
    changes = []
    before = _offset(key, start)
    for t in range(start, stop, step):
        after = _offset(key, min(t + step, stop))
        if after != before:
            lo, hi = t, min(t + step, stop)  # _offset(lo) == before, _offset(hi) == after
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if _offset(key, mid) == before else (lo, mid)
            changes.append((hi, after))
            before = after
    return tuple(changes)


def _segments(key: str, r0: int, r1: int) -> list[tuple[int, int, int]]:
    """`[a, b, offset)` spans covering [r0, r1) in which zone `key` keeps one UTC offset."""
    out = []
    a, offset = r0, _offset(key, r0)
    for year in range(_datetime(r0).year, _datetime(r1).year + 1):
        for t, new in _zone_changes(key, year):
            if r0 < t < r1:
                out.append((a, t, offset))
                a, offset = t, new
    out.append((a, r1, offset))
    return out


def _weekly_is_constant(weekly: Weekly) -> bool:
    """True when there are no weekly windows or one zone's windows cover the whole week."""
    if not weekly:
        return True
    for _, patterns in weekly:
        spans = sorted(
            piece
            for d, s, e in patterns
            for piece in ((d * DAY + s, d * DAY + e), (d * DAY + s - 7 * DAY, d * DAY + e - 7 * DAY))
        )
        reach = 0
        for lo, hi in spans:
            if lo > reach:
                break
            reach = max(reach, hi)
        if reach >= 7 * DAY:
            return True
    return False
