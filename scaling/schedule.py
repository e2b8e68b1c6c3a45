"""Business hours: parse kube-downscaler style uptime/downtime specs and answer `is_up` / `next_change`.

Grammar (compatible with kube-downscaler, plus a few unambiguous short forms):

    spec     := "always" | "never" | entry ("," entry)*      case-insensitive keywords, whole value only
    entry    := weekly | absolute                            entries are OR'd
    weekly   := DAYS " " HH:MM "-" HH:MM [" " ZONE]          `Mon-Fri 07:30-20:30 Europe/Berlin`
    DAYS     := DAY | DAY "-" DAY                            inclusive, may wrap (`Fri-Mon`); `Mon`..`Sun`
                                                             or full names, any case
    absolute := ISO "-" ISO                                  `2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00`
                                                             (offset or `Z` required; `/` also separates)

Semantics (every rule below is pinned by tests in tests/test_schedule*.py):

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
independent implementations.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone as _timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as _holidays

DAY = 86_400
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBER = {n.lower(): i for i, n in enumerate(WEEKDAYS)} | {n: i for i, n in enumerate(_FULL_DAYS)}
_UTC = _timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_SECOND = timedelta(seconds=1)
# Offsets and holidays repeat yearly, so a schedule that changes at all changes within a year of its last
# dated item (absolute entry, closed date); searching two years proves "never changes" safely.
_SEARCH_HORIZON = 2 * 366 * DAY
_MAX_TS = (datetime(9000, 1, 1, tzinfo=_UTC) - _EPOCH) // _SECOND
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})"
_ABSOLUTE = re.compile(rf"^({_ISO})\s*[-/]\s*({_ISO})$")
_LOOKS_ABSOLUTE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEKLY_FORM = "'DAYS HH:MM-HH:MM [ZONE]' such as 'Mon-Fri 09:00-18:00 Europe/Berlin'"
_ABSOLUTE_FORM = "'YYYY-MM-DDTHH:MM:SS+HH:MM-YYYY-MM-DDTHH:MM:SS+HH:MM' (ISO 8601 start and end with UTC offsets)"

Pattern = tuple[int, int, int]  # (weekday the window starts, start second of day, end second; > DAY overnight)


class ScheduleError(ValueError):
    """A schedule value that cannot be read; the message quotes the bad part and says what is expected."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule. Immutable; equal when the normalised texts are equal.

    `kind` is "uptime" or "downtime"; `spec` is the normalised spec text (round-trips through `parse`
    with the same `timezone`); `holidays` / `closed_dates` are normalised too (None when not set).
    """

    kind: str
    spec: str
    timezone: str = "UTC"
    holidays: str | None = None
    closed_dates: str | None = None
    _weekly: tuple[tuple[str, tuple[Pattern, ...]], ...] = field(default=(), repr=False, compare=False)
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

    def __str__(self) -> str:
        text = f"{self.kind} {self.spec} ({self.timezone})"
        if self.holidays:
            text += f", holidays {self.holidays}"
        if self.closed_dates:
            text += f", closed {self.closed_dates}"
        return text

    def is_up(self, at: datetime) -> bool:
        """Whether the project should be up at the instant `at` (timezone-aware)."""
        return self._matches(_instant(at)) != self.is_downtime

    def next_change(self, at: datetime) -> datetime | None:
        """The first instant strictly after `at` where `is_up` changes (UTC), or None if it never does."""
        ts = _instant(at)
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
        t0, t1 = _instant(start), _instant(end)
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
                if start_day == weekday and start <= sec < end:
                    if not (suppress and self._is_closed(day)):
                        return True
                # An overnight window that started yesterday.
                if start_day == (weekday - 1) % 7 and start <= sec + DAY < end:
                    if not (suppress and self._is_closed(day - 1)):
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
    uptime, downtime = (uptime or "").strip(), (downtime or "").strip()
    if uptime and downtime:
        raise ScheduleError(
            f"both uptime '{uptime}' and downtime '{downtime}' are set; give exactly one of them"
        )
    if not uptime and not downtime:
        raise ScheduleError("neither uptime nor downtime is set; give exactly one of them")
    kind, text = ("uptime", uptime) if uptime else ("downtime", downtime)
    zone_name = (timezone or "").strip() or "UTC"
    _check_zone(zone_name, where=f"timezone '{zone_name}'")
    spec, weekly, absolute = _parse_spec(kind, text, zone_name)
    holiday_key, holiday_text = _parse_holidays(holidays.strip()) if holidays and holidays.strip() else (None, None)
    closed, closed_text = _parse_closed(closed_dates.strip()) if closed_dates and closed_dates.strip() else ((), None)
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


# -- parsing --------------------------------------------------------------------------------------


def _parse_spec(kind: str, text: str, default_zone: str):
    keyword = text.lower()
    if keyword == "always":
        return "always", ((default_zone, tuple((d, 0, DAY) for d in range(7))),), ()
    if keyword == "never":
        return "never", (), ()
    normalised: list[str] = []
    by_zone: dict[str, list[Pattern]] = {}
    absolute: list[tuple[int, int]] = []
    for raw in text.split(","):
        entry = " ".join(raw.split())
        if not entry:
            raise ScheduleError(
                f"{kind} '{text}' has an empty entry (a doubled, leading or trailing comma); "
                "expected comma-separated entries"
            )
        if entry.lower() in ("always", "never"):
            raise ScheduleError(
                f"{kind} '{text}': '{entry}' must be the whole {kind} value, not one entry of a list"
            )
        if _LOOKS_ABSOLUTE.match(entry):
            span, entry_text = _parse_absolute(kind, entry)
            absolute.append(span)
        else:
            zone, patterns, entry_text = _parse_weekly(kind, entry, default_zone)
            by_zone.setdefault(zone, []).extend(patterns)
        normalised.append(entry_text)
    weekly = tuple((zone, tuple(sorted(set(p)))) for zone, p in by_zone.items())
    return ", ".join(normalised), weekly, tuple(sorted(absolute))


def _parse_absolute(kind: str, entry: str) -> tuple[tuple[int, int], str]:
    match = _ABSOLUTE.match(entry)
    if match is None:
        raise ScheduleError(f"{kind} entry '{entry}': expected an absolute range {_ABSOLUTE_FORM}")
    ends = []
    for part in match.groups():
        try:
            ends.append(datetime.fromisoformat(part))
        except ValueError:
            raise ScheduleError(
                f"{kind} entry '{entry}': '{part}' is not a valid date and time; expected {_ABSOLUTE_FORM}"
            ) from None
    start, end = ends
    if end <= start:
        raise ScheduleError(f"{kind} entry '{entry}': the end is not after the start; expected start < end")
    return (_instant(start), _instant(end)), f"{start.isoformat()}-{end.isoformat()}"


def _parse_weekly(kind: str, entry: str, default_zone: str) -> tuple[str, list[Pattern], str]:
    where = f"{kind} entry '{entry}'"
    tokens = re.sub(r"\s*-\s*", "-", entry).split(" ")
    if ":" in tokens[0]:
        raise ScheduleError(
            f"{where} has no weekdays; write them out, e.g. 'Mon-Sun {entry}' for every day "
            "(kube-downscaler's default week frame is a deployment setting, so it is not guessed)"
        )
    if len(tokens) not in (2, 3):
        raise ScheduleError(f"cannot read {where}; expected {_WEEKLY_FORM}, an absolute range, 'always' or 'never'")
    days_text, times_text = tokens[0], tokens[1]
    day_names = days_text.split("-")
    if len(day_names) > 2 or not all(day_names):
        raise ScheduleError(f"{where}: '{days_text}' is not a weekday or range; expected e.g. 'Mon-Fri' or 'Sat'")
    first, last = (_weekday(name, where) for name in (day_names[0], day_names[-1]))
    days = [d % 7 for d in range(first, first + (last - first) % 7 + 1)]  # Fri-Mon wraps over Sunday
    match = _TIME_RANGE.match(times_text)
    if match is None:
        raise ScheduleError(f"{where}: '{times_text}' is not a time range; expected HH:MM-HH:MM such as 09:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start = _clock(h1, m1, times_text, where, end=False)
    end = _clock(h2, m2, times_text, where, end=True)
    if start == end:
        raise ScheduleError(
            f"{where}: window '{times_text}' is empty (start equals end); use 00:00-24:00 for whole days"
        )
    if end < start:
        end += DAY  # crosses midnight: the window belongs to the day it starts on
    zone = default_zone
    zone_text = ""
    if len(tokens) == 3:
        zone = tokens[2]
        _check_zone(zone, where=f"{where}: time zone '{zone}'")
        zone_text = f" {zone}"
    days_out = WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
    text = f"{days_out} {h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}{zone_text}"
    return zone, [(d, start, end) for d in days], text


def _weekday(name: str, where: str) -> int:
    number = _DAY_NUMBER.get(name.lower())
    if number is None:
        raise ScheduleError(f"{where}: unknown weekday '{name}'; expected one of {', '.join(WEEKDAYS)}")
    return number


def _clock(hour: int, minute: int, text: str, where: str, *, end: bool) -> int:
    if minute > 59:
        raise ScheduleError(f"{where}: '{text}' has minute {minute:02d}; expected minutes 00-59")
    if hour == 24 and minute == 0 and end:
        return DAY
    if hour > 23:
        allowed = "00-23 (or 24:00 as an end)" if end else "00-23"
        raise ScheduleError(f"{where}: '{text}' has hour {hour:02d}; expected hours {allowed}")
    return hour * 3600 + minute * 60


def _check_zone(name: str, *, where: str) -> None:
    try:
        ZoneInfo(name)
        return
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    hint = next((z for z in _zone_names() if z.lower() == name.lower()), None)
    suggestion = f"did you mean '{hint}'?" if hint else "expected an IANA name such as Europe/Berlin, Asia/Tokyo or UTC"
    raise ScheduleError(f"{where} is not a known IANA time zone; {suggestion}")


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def _supported_countries() -> dict[str, list[str]]:
    return _holidays.list_supported_countries()


def _parse_holidays(text: str) -> tuple[tuple[str, str | None], str]:
    country, dash, subdivision = (part.strip() for part in text.partition("-"))
    country = country.upper()
    supported = _supported_countries()
    if country not in supported:
        raise ScheduleError(
            f"holidays '{text}': unknown country '{country}'; expected a country code of the holidays package "
            "such as JP, DE, US or GB, optionally with a subdivision (DE-BY, US-CA)"
        )
    if not dash:
        return (country, None), country
    known = {s.upper(): s for s in supported[country]}
    match = known.get(subdivision.upper())
    if match is None:
        choices = ", ".join(supported[country]) if supported[country] else f"none: {country} has no subdivisions"
        raise ScheduleError(
            f"holidays '{text}': unknown subdivision '{subdivision}' of {country}; expected one of {choices}"
        )
    return (country, match), f"{country}-{match}"


def _parse_closed(text: str) -> tuple[tuple[tuple[int, int], ...], str]:
    ranges: list[tuple[int, int]] = []
    normalised: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            raise ScheduleError(
                f"closed dates '{text}' have an empty entry (a doubled, leading or trailing comma); "
                "expected YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD entries separated by commas"
            )
        first_text, dots, last_text = (p.strip() for p in item.partition(".."))
        first = _closed_date(first_text, item)
        last = _closed_date(last_text, item) if dots else first
        if last < first:
            raise ScheduleError(
                f"closed dates: range '{item}' ends before it starts; expected FROM..TO with FROM on or before TO"
            )
        ranges.append((first.toordinal() - _EPOCH_ORDINAL, last.toordinal() - _EPOCH_ORDINAL))
        normalised.append(f"{first}..{last}" if dots else f"{first}")
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return tuple(merged), ", ".join(normalised)


def _closed_date(text: str, item: str) -> date:
    if _DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ScheduleError(f"closed dates: '{text}' in '{item}' is not a valid date; expected YYYY-MM-DD")


# -- time helpers (integer seconds since the epoch, UTC) -------------------------------------------


def _instant(at: datetime) -> int:
    if not isinstance(at, datetime):
        raise ScheduleError(f"expected a timezone-aware datetime, got {type(at).__name__} {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ScheduleError(f"naive datetime {at.isoformat()}; expected a timezone-aware datetime")
    return (at - _EPOCH) // _SECOND


def _datetime(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, _UTC)


def _offset(key: str, ts: int) -> int:
    return datetime.fromtimestamp(ts, ZoneInfo(key)).utcoffset() // _SECOND


def _year_of_day(day: int) -> int:
    return date.fromordinal(day + _EPOCH_ORDINAL).year


@lru_cache(maxsize=8192)
def _holiday_days(country: str, subdivision: str | None, year: int) -> frozenset[int]:
    calendar = _holidays.country_holidays(country, subdiv=subdivision, years=year)
    return frozenset(d.toordinal() - _EPOCH_ORDINAL for d in calendar if d.year == year)


@lru_cache(maxsize=4096)
def _zone_changes(key: str, year: int) -> tuple[tuple[int, int], ...]:
    """(instant, new offset) for every UTC-offset change of zone `key` during `year` (UTC)."""
    start = (datetime(year, 1, 1, tzinfo=_UTC) - _EPOCH) // _SECOND
    stop = (datetime(year + 1, 1, 1, tzinfo=_UTC) - _EPOCH) // _SECOND
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


def _weekly_is_constant(weekly: tuple[tuple[str, tuple[Pattern, ...]], ...]) -> bool:
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
