"""Wall-clock semantics across DST: gaps shorten windows, folds lengthen them; instants in gaps and folds."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.schedule.hours import parse

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
TOKYO = ZoneInfo("Asia/Tokyo")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def day_of(uptime: str, zone: str, start: datetime) -> list[tuple[datetime, bool]]:
    return parse(uptime=uptime, timezone=zone).transitions(start, start + timedelta(days=1))


# Europe/Berlin: Sunday 2026-03-29 02:00 CET -> 03:00 CEST (01:00 UTC); Sunday 2026-10-25 03:00 CEST -> 02:00 CET
# (01:00 UTC). America/New_York: Sunday 2026-03-08 02:00 EST -> 03:00 EDT (07:00 UTC); Sunday 2026-11-01
# 02:00 EDT -> 01:00 EST (06:00 UTC).


@pytest.mark.parametrize(
    ("uptime", "zone", "day", "expected"),
    [
        pytest.param(
            "Sun 01:00-04:00",
            "Europe/Berlin",
            utc(2026, 3, 28, 12),
            [(utc(2026, 3, 29, 0), True), (utc(2026, 3, 29, 2), False)],
            id="berlin-spring-2h-not-3h",
        ),
        pytest.param(
            "Sun 01:00-04:00",
            "Europe/Berlin",
            utc(2026, 10, 24, 12),
            [(utc(2026, 10, 24, 23), True), (utc(2026, 10, 25, 3), False)],
            id="berlin-fall-4h-not-3h",
        ),
        pytest.param(
            "Sun 00:00-05:00",
            "America/New_York",
            utc(2026, 3, 7, 12),
            [(utc(2026, 3, 8, 5), True), (utc(2026, 3, 8, 9), False)],
            id="new-york-spring-4h-not-5h",
        ),
        pytest.param(
            "Sun 00:00-05:00",
            "America/New_York",
            utc(2026, 10, 31, 12),
            [(utc(2026, 11, 1, 4), True), (utc(2026, 11, 1, 10), False)],
            id="new-york-fall-6h-not-5h",
        ),
        # Saturday 22:00 EST (03:00 UTC) to Sunday 06:00 EDT (10:00 UTC): seven hours instead of eight.
        pytest.param(
            "Sat 22:00-06:00",
            "America/New_York",
            utc(2026, 3, 7, 12),
            [(utc(2026, 3, 8, 3), True), (utc(2026, 3, 8, 10), False)],
            id="new-york-overnight-spring",
        ),
        # Saturday 22:00 EDT (02:00 UTC) to Sunday 06:00 EST (11:00 UTC): nine hours.
        pytest.param(
            "Sat 22:00-06:00",
            "America/New_York",
            utc(2026, 10, 31, 12),
            [(utc(2026, 11, 1, 2), True), (utc(2026, 11, 1, 11), False)],
            id="new-york-overnight-fall",
        ),
    ],
)
def test_gaps_shorten_and_folds_lengthen_windows(uptime, zone, day, expected):
    assert day_of(uptime, zone, day) == expected


def test_window_starting_in_a_gap_opens_when_the_gap_ends():
    # Sunday 2026-03-29: 02:30 does not exist in Berlin; wall time jumps from 01:59:59 CET to 03:00 CEST.
    assert day_of("Sun 02:30-04:00", "Europe/Berlin", utc(2026, 3, 28, 12)) == [
        (utc(2026, 3, 29, 1), True),  # 03:00 CEST
        (utc(2026, 3, 29, 2), False),  # 04:00 CEST
    ]


def test_window_ending_in_a_gap_closes_when_the_gap_starts():
    # Sunday 2026-03-29 Berlin: 01:00 CET (00:00 UTC) until the jump at 01:00 UTC.
    assert day_of("Sun 01:00-02:30", "Europe/Berlin", utc(2026, 3, 28, 12)) == [
        (utc(2026, 3, 29, 0), True),
        (utc(2026, 3, 29, 1), False),
    ]


def test_window_lying_inside_a_gap_never_opens():
    assert day_of("Sun 02:10-02:50", "Europe/Berlin", utc(2026, 3, 28, 12)) == []


def test_window_edge_inside_the_repeated_hour_is_crossed_twice():
    # Sunday 2026-10-25 Berlin: wall time runs 02:00-03:00 CEST, then 02:00-03:00 CET again. A window
    # from 02:30 matches whenever the wall clock reads 02:30 or later, so it opens, closes for the
    # half hour 02:00-02:30 CET, and opens again (documented in scaling/schedule/hours.py).
    assert day_of("Sun 02:30-04:00", "Europe/Berlin", utc(2026, 10, 24, 12)) == [
        (utc(2026, 10, 25, 0, 30), True),  # 02:30 CEST
        (utc(2026, 10, 25, 1, 0), False),  # 02:00 CET
        (utc(2026, 10, 25, 1, 30), True),  # 02:30 CET
        (utc(2026, 10, 25, 3, 0), False),  # 04:00 CET
    ]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # fold=0 (the default) reads a time in the gap with the offset before it: 02:30+01:00 = 01:30 UTC,
        # which the clock shows as 03:30 CEST.
        pytest.param(datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN), True, id="gap-fold0-is-03-30-cest"),
        # fold=1 reads it with the offset after: 02:30+02:00 = 00:30 UTC, shown as 01:30 CET.
        pytest.param(datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN, fold=1), False, id="gap-fold1-is-01-30-cet"),
    ],
)
def test_a_wall_time_in_a_gap_is_the_instant_python_maps_it_to(at, expected):
    schedule = parse(uptime="Sun 03:00-04:00", timezone="Europe/Berlin")  # Sunday 2026-03-29
    assert schedule.is_up(at) is expected


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN), True, id="first-pass-02-30-cest"),
        pytest.param(datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1), True, id="second-pass-02-30-cet"),
        pytest.param(datetime(2026, 10, 25, 2, 15, tzinfo=BERLIN, fold=1), False, id="second-pass-02-15-cet"),
    ],
)
def test_an_ambiguous_wall_time_is_the_pass_its_fold_selects(at, expected):
    schedule = parse(uptime="Sun 02:30-04:00", timezone="Europe/Berlin")  # Sunday 2026-10-25
    assert schedule.is_up(at) is expected


def test_office_hours_follow_local_time_across_the_change():
    schedule = parse(uptime="Mon-Fri 07:30-20:30", timezone="Europe/Berlin")
    week = schedule.transitions(utc(2026, 3, 23), utc(2026, 4, 4))  # Monday to Saturday, DST on Sunday 29th
    opens = [at for at, up in week if up]
    assert opens[4] == utc(2026, 3, 27, 6, 30)  # Friday 07:30 CET
    assert opens[5] == utc(2026, 3, 30, 5, 30)  # Monday 07:30 CEST


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        # Sunday 2026-04-05: 02:00 LHDT (+11) -> 01:30 LHST (+10:30), so 01:30-02:00 repeats.
        pytest.param(
            utc(2026, 4, 4, 6), [(utc(2026, 4, 4, 14), True), (utc(2026, 4, 4, 16, 30), False)], id="fall-back-2h30"
        ),
        # Sunday 2026-10-04: 02:00 LHST (+10:30) -> 02:30 LHDT (+11), so 02:00-02:30 is skipped.
        pytest.param(
            utc(2026, 10, 3, 6),
            [(utc(2026, 10, 3, 14, 30), True), (utc(2026, 10, 3, 16), False)],
            id="spring-forward-1h30",
        ),
    ],
)
def test_lord_howe_half_hour_dst(day, expected):
    assert day_of("Sun 01:00-03:00", "Australia/Lord_Howe", day) == expected


def test_tokyo_has_no_dst_so_every_opening_is_at_00_00_utc():
    schedule = parse(uptime="Mon-Fri 09:00-19:00", timezone="Asia/Tokyo")
    year = schedule.transitions(utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(year) == 2 * 261  # 261 weekdays in 2026
    assert {(at.hour, at.minute, up) for at, up in year} == {(0, 0, True), (10, 0, False)}


def test_entries_in_different_zones_shift_against_each_other_across_dst():
    # Berlin and New York change on different Sundays (2026-03-08 and 2026-03-29); in the weeks between,
    # the two offices are five hours apart instead of six.
    schedule = parse(uptime="Mon-Fri 09:00-17:00 Europe/Berlin, Mon-Fri 09:00-17:00 America/New_York")
    before = schedule.transitions(utc(2026, 3, 2), utc(2026, 3, 3))  # Monday
    between = schedule.transitions(utc(2026, 3, 9), utc(2026, 3, 10))  # Monday
    assert before == [(utc(2026, 3, 2, 8), True), (utc(2026, 3, 2, 22), False)]  # 09-17 CET + 09-17 EST
    assert between == [(utc(2026, 3, 9, 8), True), (utc(2026, 3, 9, 21), False)]
