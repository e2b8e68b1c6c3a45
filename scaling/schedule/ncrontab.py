"""NCRONTAB schedules (the Functions timer's 6-field cron) for the local in-process timer (pure, no I/O).

    {second} {minute} {hour} {day} {month} {day-of-week}      e.g. "0 */5 * * * *"

Each field: `*`, a number, a range `a-b`, a step `*/n` or `a-b/n`, or a comma list of those; months and
weekdays also by 3-letter English name (`Jan`, `Mon`); weekday 0 or 7 is Sunday. When both day and
day-of-week are restricted an instant must match both. Times are UTC, like the Functions host without
WEBSITE_TIME_ZONE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

UTC = UTC
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, low, high, names offset by low)
_FIELDS = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 0, 7, _DAYS),
)
_SEARCH_DAYS = 366 * 5  # Feb 29 on a given weekday repeats within 28 years; a useful timer fires far sooner


class NcrontabError(ValueError):
    """A schedule that is not NCRONTAB; the message quotes the field and says what is expected."""


@dataclass(frozen=True)
class Ncrontab:
    """A parsed schedule; `next_after(t)` is the first firing strictly after `t`."""

    text: str
    seconds: tuple[int, ...]
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday (Python's weekday())

    def next_after(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"next_after: {at.isoformat()} is naive; pass a timezone-aware datetime")
        start = at.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
        day = start.date()
        for _ in range(_SEARCH_DAYS):
            if day.month in self.months and day.day in self.days and day.weekday() in self.weekdays:
                first = start if day == start.date() else None
                hit = self._first_in_day(day, first)
                if hit is not None:
                    return hit
            day += timedelta(days=1)
        raise NcrontabError(f"schedule {self.text!r} never fires")

    def _first_in_day(self, day: date, first: datetime | None) -> datetime | None:
        for hour in self.hours:
            if first is not None and hour < first.hour:
                continue
            for minute in self.minutes:
                if first is not None and (hour, minute) < (first.hour, first.minute):
                    continue
                for second in self.seconds:
                    candidate = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)
                    if first is None or candidate >= first:
                        return candidate
        return None


def _value(token: str, field: str, low: int, high: int, names: tuple[str, ...]) -> int:
    lowered = token.lower()
    if names and lowered in names:
        return names.index(lowered) + (1 if field == "month" else 0)
    if not token.isdigit():
        raise NcrontabError(f"{field} field: {token!r} is not a number" + (" or a name" if names else ""))
    value = int(token)
    if not low <= value <= high:
        raise NcrontabError(f"{field} field: {value} is outside {low}-{high}")
    return value


def _field(text: str, field: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise NcrontabError(f"{field} field {text!r}: empty list item")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise NcrontabError(f"{field} field {part!r}: the step after '/' must be a positive number")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = _value(a, field, low, high, names), _value(b, field, low, high, names)
            if first > last:
                raise NcrontabError(f"{field} field {part!r}: range start is after its end")
        else:
            first = _value(base, field, low, high, names)
            last = high if step_text else first
        values.update(range(first, last + 1, step))
    return values


def parse(text: str) -> Ncrontab:
    """Parse a 6-field NCRONTAB expression; raise NcrontabError saying which field is wrong."""
    parts = text.split()
    if len(parts) != 6:
        raise NcrontabError(
            f"schedule {text!r} has {len(parts)} fields; NCRONTAB needs 6: "
            "{second} {minute} {hour} {day} {month} {day-of-week}, e.g. '0 */5 * * * *'"
        )
    sets = [_field(p, name, low, high, names) for p, (name, low, high, names) in zip(parts, _FIELDS, strict=True)]
    # cron weekdays: 0 and 7 are Sunday; Python's weekday(): Monday 0 .. Sunday 6
    weekdays = frozenset((d - 1) % 7 for d in sets[5])
    return Ncrontab(
        text=text,
        seconds=tuple(sorted(sets[0])),
        minutes=tuple(sorted(sets[1])),
        hours=tuple(sorted(sets[2])),
        days=frozenset(sets[3]),
        months=frozenset(sets[4]),
        weekdays=weekdays,
    )
