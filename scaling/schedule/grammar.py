"""The schedule grammar: read uptime/downtime specs, holiday codes and closed dates into plain values.

The rules are documented in scaling/schedule/hours.py, which builds a `Schedule` from what this module returns.
Every malformed value raises ScheduleError quoting the offending part and saying what is expected.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays as _holidays

DAY = 86_400
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NUMBER = {n.lower(): i for i, n in enumerate(WEEKDAYS)} | {n: i for i, n in enumerate(_FULL_DAYS)}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
SECOND = timedelta(seconds=1)
_ISO = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})"
_ABSOLUTE = re.compile(rf"^({_ISO})\s*[-/]\s*({_ISO})$")
_LOOKS_ABSOLUTE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_TIME_RANGE = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_WEEKLY_FORM = "'DAYS HH:MM-HH:MM [ZONE]' such as 'Mon-Fri 09:00-18:00 Europe/Berlin'"
_ABSOLUTE_FORM = "'YYYY-MM-DDTHH:MM:SS+HH:MM-YYYY-MM-DDTHH:MM:SS+HH:MM' (ISO 8601 start and end with UTC offsets)"

Pattern = tuple[int, int, int]  # (weekday the window starts, start second of day, end second; > DAY overnight)
Weekly = tuple[tuple[str, tuple[Pattern, ...]], ...]  # windows grouped by zone key


class ScheduleError(ValueError):
    """A schedule value that cannot be read; the message quotes the bad part and says what is expected."""


def parse_spec(kind: str, text: str, default_zone: str) -> tuple[str, Weekly, tuple[tuple[int, int], ...]]:
    """(normalised text, weekly windows by zone, absolute [start, end) seconds) of an uptime/downtime value."""
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
            raise ScheduleError(f"{kind} '{text}': '{entry}' must be the whole {kind} value, not one entry of a list")
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
    # An end not after the start never matches, as in kube-downscaler (scaling/schedule/lint.py warns).
    return (to_seconds(start), max(to_seconds(start), to_seconds(end))), f"{start.isoformat()}-{end.isoformat()}"


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
    start, end = (h1 * 60 + m1) * 60, (h2 * 60 + m2) * 60
    if not (_clock_ok(h1, m1, end=False) and _clock_ok(h2, m2, end=True)):
        # kube-downscaler accepts any two digits and compares minutes of the day: `08:75` is 09:15, an end
        # past 24:00 is the end of the day, a start from 24:00 on never matches (scaling/schedule/lint.py warns).
        start, end = start, min(end, DAY)
    elif end < start:
        end += DAY  # crosses midnight: the window belongs to the day it starts on
    window = [(d, start, end) for d in days] if start < end else []  # empty: never matches, as in kube-downscaler
    zone = default_zone
    zone_text = ""
    if len(tokens) == 3:
        zone = tokens[2]
        check_zone(zone, where=f"{where}: time zone '{zone}'")
        zone_text = f" {zone}"
    days_out = WEEKDAYS[first] if first == last else f"{WEEKDAYS[first]}-{WEEKDAYS[last]}"
    text = f"{days_out} {h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}{zone_text}"
    return zone, window, text


def _weekday(name: str, where: str) -> int:
    number = _DAY_NUMBER.get(name.lower())
    if number is None:
        raise ScheduleError(f"{where}: unknown weekday '{name}'; expected one of {', '.join(WEEKDAYS)}")
    return number


def _clock_ok(hour: int, minute: int, *, end: bool) -> bool:
    """A clock time in the usual range (24:00 only as an end)."""
    return minute <= 59 and (hour <= 23 or (end and hour == 24 and minute == 0))


def check_zone(name: str, *, where: str) -> None:
    """Raise ScheduleError (`where` names the column or entry) unless `name` is an IANA zone key."""
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


def parse_holidays(text: str) -> tuple[tuple[str, str | None], str]:
    """`JP`, `de-by` -> ((country, subdivision or None), normalised text), checked against the holidays package."""
    if any(sep in text.strip() for sep in (",", ";", " ")):
        raise ScheduleError(
            f"holidays '{text}': one calendar per project (country or country-subdivision, e.g. DE-BE); "
            "put the other calendar's days into ClosedDates"
        )
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


def parse_closed_dates(text: str) -> tuple[tuple[tuple[int, int], ...], str]:
    """`2026-12-24, 2026-12-29..2027-01-03` -> (merged inclusive day-number ranges, normalised text)."""
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
        ranges.append((first.toordinal() - EPOCH_ORDINAL, last.toordinal() - EPOCH_ORDINAL))
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


def to_seconds(at: datetime) -> int:
    """Whole seconds since the epoch (floored) of an aware datetime; naive ones are rejected."""
    if not isinstance(at, datetime):
        raise ScheduleError(f"expected a timezone-aware datetime, got {type(at).__name__} {at!r}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ScheduleError(f"naive datetime {at.isoformat()}; expected a timezone-aware datetime")
    return (at - EPOCH) // SECOND
