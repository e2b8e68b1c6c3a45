"""Warnings about uptime/downtime specs that are valid but probably not what was meant (pure).

kube-downscaler (hjacobs/kube-downscaler, kube_downscaler/helper.py and tests/test_time.py) accepts any
two-digit clock and compares minutes of the day: `Mon-Mon 00:00-00:00 CET` is valid and never matches,
`08:75` is 09:15, an end past 24:00 is the end of the day, and an absolute range ending before it starts
never matches. aks-hours accepts all of these with the same meaning (scaling/schedule/grammar.py) and
reports them here; `schedules validate` prints them. One reading differs on purpose and is not warned
about, since it is this app's documented overnight window: a window ending before it starts
(`Mon-Fri 22:00-06:00`) crosses midnight here, where kube-downscaler never matches it.
"""

from __future__ import annotations

import re
from datetime import datetime

from scaling.schedule.grammar import _ABSOLUTE, _LOOKS_ABSOLUTE, _TIME_RANGE


def spec_warnings(kind: str, text: str | None) -> tuple[str, ...]:
    """One message per suspicious entry of an uptime/downtime value (assumed to parse)."""
    if not text or text.strip().lower() in ("always", "never"):
        return ()
    found: list[str] = []
    for raw in text.split(","):
        entry = " ".join(raw.split())
        if not entry:
            continue
        where = f"{kind} entry '{entry}'"
        if _LOOKS_ABSOLUTE.match(entry):
            found += _absolute(where, entry)
            continue
        tokens = re.sub(r"\s*-\s*", "-", entry).split(" ")
        match = _TIME_RANGE.match(tokens[1]) if len(tokens) > 1 else None
        if match is not None:
            found += _weekly(where, *(int(g) for g in match.groups()))
    return tuple(found)


def _weekly(where: str, h1: int, m1: int, h2: int, m2: int) -> list[str]:
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or h1 > 23 or h2 > 24 or (h2 == 24 and m2):
        if start >= 24 * 60 or min(end, 24 * 60) <= start:
            return [
                f"{where} never matches: its start is not before its end within the day (kube-downscaler's reading)"
            ]
        return [
            f"{where} has a clock outside 00:00-24:00: read as minutes of the day, as kube-downscaler does "
            f"({start // 60:02d}:{start % 60:02d}-{min(end, 1440) // 60:02d}:{min(end, 1440) % 60:02d})"
        ]
    if start == end:
        return [f"{where} never matches: the window is empty (start equals end); 00:00-24:00 is a whole day"]
    return []


def _absolute(where: str, entry: str) -> list[str]:
    match = _ABSOLUTE.match(entry)
    if match is None:
        return []
    try:
        start, end = (datetime.fromisoformat(part) for part in match.groups())
    except ValueError:
        return []
    if end <= start:
        return [f"{where} never matches: its end is not after its start"]
    return []
