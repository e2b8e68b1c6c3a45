"""Times people type: `22:00` (in the project's zone), `tomorrow 09:00`, `Fri 18:00`, `2h`, ISO 8601.

One parser for the CLI, the API and the status page, so "until 22:00" means the same everywhere: the next
22:00 on the project's wall clock after `now`. A full ISO 8601 time with an offset is taken as it is; one
without an offset is read in the project's zone. Durations (`2h`, `90m`, `1h30m`, `3d`, `PT2H`) count
from `now`. Every refusal says what was typed and what would have been understood.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EXAMPLES = "e.g. 22:00, tomorrow 09:00, Fri 18:00, 2026-12-24 12:00, 2026-12-24T12:00:00Z"
DURATION_EXAMPLES = "e.g. 2h, 90m, 1h30m, 3d, PT2H"
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_WORDS = {
    "d": "d",
    "day": "d",
    "days": "d",
    "h": "h",
    "hr": "h",
    "hrs": "h",
    "hour": "h",
    "hours": "h",
    "m": "m",
    "min": "m",
    "mins": "m",
    "minute": "m",
    "minutes": "m",
    "s": "s",
    "sec": "s",
    "secs": "s",
    "second": "s",
    "seconds": "s",
}
_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]+)", re.IGNORECASE)
_ISO_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", re.IGNORECASE)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_TEXT = 64


class WhenError(ValueError):
    """A time or duration that cannot be understood; the message quotes it and gives examples."""


def parse_duration(text: str) -> timedelta:
    """`2h`, `90m`, `1h30m`, `1.5h`, `3 days`, `PT2H` -> a positive timedelta."""
    raw = text.strip()
    if not raw or len(raw) > MAX_TEXT:
        raise WhenError(f"duration {text!r} is not a duration ({DURATION_EXAMPLES})")
    iso = _ISO_DURATION.fullmatch(raw)
    if iso and any(iso.groups()):
        days, hours, minutes, seconds = (int(g or 0) for g in iso.groups())
        total = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    else:
        position, seconds_total = 0, 0.0
        for match in _PART.finditer(raw):
            if match.start() != position:
                break
            unit = _UNIT_WORDS.get(match.group(2).lower())
            if unit is None:
                raise WhenError(f"duration {text!r}: unknown unit {match.group(2)!r} ({DURATION_EXAMPLES})")
            seconds_total += float(match.group(1)) * _UNITS[unit]
            position = match.end()
        if position == 0 or raw[position:].strip():
            raise WhenError(f"duration {text!r} is not a duration ({DURATION_EXAMPLES})")
        total = timedelta(seconds=round(seconds_total))
    if total <= timedelta(0):
        raise WhenError(f"duration {text!r} must be longer than zero")
    if total > timedelta(days=3660):
        raise WhenError(f"duration {text!r} is longer than ten years")
    return total


def looks_like_duration(text: str) -> bool:
    try:
        parse_duration(text)
    except WhenError:
        return False
    return True


def _clock(text: str, whole: str) -> time:
    match = _CLOCK.fullmatch(text.strip())
    if not match:
        raise WhenError(f"time {whole!r} is not a time of day ({EXAMPLES})")
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour == 24 and minute == 0:
        return time(0, 0)
    if hour > 23 or minute > 59:
        raise WhenError(f"time {whole!r}: {text.strip()} is not a time of day (00:00-23:59)")
    return time(hour, minute)


def _local(day: date, clock: time, zone: ZoneInfo, whole: str) -> datetime:
    """`day` at `clock` on the zone's wall clock; a time skipped by a DST change is refused, a repeated one
    is its first occurrence."""
    value = datetime.combine(day, clock, tzinfo=zone)
    back = value.astimezone(ZoneInfo("UTC")).astimezone(zone)
    if back.replace(tzinfo=None) != value.replace(tzinfo=None):
        raise WhenError(f"time {whole!r}: {day} {clock:%H:%M} does not exist in {zone.key} (a DST change skips it)")
    return value


def parse_until(text: str, *, now: datetime, zone: ZoneInfo) -> datetime:
    """The instant `text` names, as seen on `zone`'s wall clock at `now` (a zone-aware datetime).

    `HH:MM` is its next occurrence after `now` (today, else tomorrow); `tomorrow HH:MM` and `<weekday> HH:MM`
    (the next such day, today excluded) likewise; `YYYY-MM-DD HH:MM` without an offset is local; an ISO
    8601 time with an offset or Z is exact."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    raw = text.strip()
    if not raw or len(raw) > MAX_TEXT:
        raise WhenError(f"time {text!r} is not a time ({EXAMPLES})")
    here = now.astimezone(zone)
    words = raw.split()
    if len(words) == 1 and _CLOCK.fullmatch(raw):
        clock = _clock(raw, text)
        value = _local(here.date(), clock, zone, text)
        return value if value > now else _local(here.date() + timedelta(days=1), clock, zone, text)
    if len(words) == 2 and _CLOCK.fullmatch(words[1]):
        day_word = words[0].lower()
        clock = _clock(words[1], text)
        if day_word == "today":
            return _local(here.date(), clock, zone, text)
        if day_word == "tomorrow":
            return _local(here.date() + timedelta(days=1), clock, zone, text)
        if day_word[:3] in _WEEKDAYS and (len(day_word) == 3 or _full_weekday(day_word)):
            ahead = (_WEEKDAYS.index(day_word[:3]) - here.weekday() - 1) % 7 + 1
            return _local(here.date() + timedelta(days=ahead), clock, zone, text)
    try:
        value = datetime.fromisoformat(raw.replace(" ", "T", 1) if len(words) == 2 else raw)
    except ValueError:
        raise WhenError(f"time {text!r} is not a time ({EXAMPLES})") from None
    if value.tzinfo is None:
        return _local(value.date(), value.time(), zone, text)
    return value


def _full_weekday(word: str) -> bool:
    return word in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def parse_since(text: str, *, now: datetime) -> datetime:
    """A start of a window: a duration ago (`2h`, `1d`) or an ISO 8601 time with an offset."""
    raw = text.strip()
    if looks_like_duration(raw):
        return now - parse_duration(raw)
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise WhenError(
            f"{text!r} is neither a duration ({DURATION_EXAMPLES}) nor an ISO 8601 time (e.g. 2026-11-30T09:00+09:00)"
        ) from None
    if value.tzinfo is None:
        raise WhenError(f"{text!r} has no offset; add Z or +HH:MM, or give a duration such as 2h")
    return value


def local_text(value: datetime, zone: ZoneInfo) -> str:
    """How an instant is shown back to someone who typed local time: `Tue 24 Nov 22:00 Europe/Berlin (21:00Z)`."""
    local = value.astimezone(zone)
    utc = value.astimezone(ZoneInfo("UTC"))
    return f"{local:%a %d %b %H:%M} {zone.key} ({utc:%H:%M}Z)"
