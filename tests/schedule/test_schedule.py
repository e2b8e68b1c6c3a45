"""Schedule rules, one table per rule: weekly windows, absolute entries, keywords, holidays, closed dates."""

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.schedule import hours as schedule_module
from scaling.schedule.hours import Schedule, ScheduleError, parse

UTC = UTC
TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

OFFICE = {"uptime": "Mon-Fri 09:00-19:00", "timezone": "Asia/Tokyo"}


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def check(kwargs: dict, at: datetime, expected: bool) -> None:
    assert parse(**kwargs).is_up(at) is expected


@pytest.mark.parametrize(
    ("kwargs", "at", "expected"),
    [
        pytest.param(OFFICE, jst(2026, 11, 30, 9, 0), True, id="start-is-inclusive"),  # Monday
        pytest.param(OFFICE, jst(2026, 11, 30, 8, 59, 59), False, id="before-start"),  # Monday
        pytest.param(OFFICE, jst(2026, 11, 30, 18, 59, 59), True, id="last-second"),  # Monday
        pytest.param(OFFICE, jst(2026, 11, 30, 19, 0), False, id="end-is-exclusive"),  # Monday
        pytest.param(OFFICE, jst(2026, 12, 4, 12, 0), True, id="friday-is-in-mon-fri"),  # Friday
        pytest.param(OFFICE, jst(2026, 12, 5, 12, 0), False, id="saturday-is-not"),  # Saturday
        pytest.param(OFFICE, datetime(2026, 11, 30, 0, 30, tzinfo=UTC), True, id="instant-in-another-zone"),
        # Monday 09:30 JST is Monday 00:30 UTC; Sunday 23:30 UTC is Monday 08:30 JST.
        pytest.param(OFFICE, datetime(2026, 11, 29, 23, 30, tzinfo=UTC), False, id="utc-sunday-is-tokyo-monday"),
    ],
)
def test_weekly_window_is_start_inclusive_end_exclusive_in_local_time(kwargs, at, expected):
    check(kwargs, at, expected)


@pytest.mark.parametrize(
    ("uptime", "at", "expected"),
    [
        pytest.param("Fri-Mon 10:00-12:00", jst(2026, 12, 6, 11, 0), True, id="wrap-includes-sunday"),  # Sunday
        pytest.param("Fri-Mon 10:00-12:00", jst(2026, 11, 30, 11, 0), True, id="wrap-includes-monday"),  # Monday
        pytest.param("Fri-Mon 10:00-12:00", jst(2026, 12, 2, 11, 0), False, id="wrap-excludes-wednesday"),  # Wed
        pytest.param("Sat 10:00-12:00", jst(2026, 12, 5, 10, 30), True, id="single-day"),  # Saturday
        pytest.param("Sat 10:00-12:00", jst(2026, 12, 6, 10, 30), False, id="single-day-only"),  # Sunday
        pytest.param("Mon-Mon 10:00-12:00", jst(2026, 12, 1, 10, 30), False, id="same-day-range-is-one-day"),  # Tue
        pytest.param("Sat-Sun 00:00-24:00", jst(2026, 12, 6, 23, 59, 59), True, id="24-00-end"),  # Sunday
        pytest.param("Sat-Sun 00:00-24:00", jst(2026, 12, 7, 0, 0), False, id="24-00-end-exclusive"),  # Monday
        pytest.param("monday-FRIDAY 9:00-17:00", jst(2026, 12, 1, 9, 0), True, id="full-names-any-case"),  # Tue
        pytest.param("Mon - Fri  09:00 - 17:00", jst(2026, 12, 1, 16, 0), True, id="spaces-around-dashes"),  # Tue
        pytest.param("Mon-Fri 09:00-12:00, Mon-Fri 13:00-17:00", jst(2026, 12, 1, 12, 30), False, id="lunch-gap"),
        pytest.param("Mon-Fri 09:00-12:00, Mon-Fri 13:00-17:00", jst(2026, 12, 1, 13, 0), True, id="entries-ored"),
    ],
)
def test_weekday_ranges_and_entry_lists(uptime, at, expected):
    check({"uptime": uptime, "timezone": "Asia/Tokyo"}, at, expected)


def test_entry_zone_overrides_the_project_timezone():
    schedule = parse(uptime="Mon-Fri 09:00-17:00 America/New_York", timezone="Asia/Tokyo")
    # Monday 2026-11-30 09:30 in New York is Monday 14:30 UTC, Tuesday 23:30 in Tokyo.
    assert schedule.is_up(datetime(2026, 11, 30, 9, 30, tzinfo=NEW_YORK))
    assert not schedule.is_up(jst(2026, 11, 30, 9, 30))  # Monday 09:30 Tokyo = Sunday 19:30 New York


@pytest.mark.parametrize("timezone", [None, "", "  "], ids=["none", "empty", "blank"])
def test_timezone_defaults_to_utc(timezone):
    schedule = parse(uptime="Mon-Fri 09:00-17:00", timezone=timezone)
    assert schedule.timezone == "UTC"
    assert schedule.is_up(datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(jst(2026, 12, 4, 23, 0), True, id="friday-night"),  # Friday
        pytest.param(jst(2026, 12, 5, 5, 59), True, id="saturday-morning-belongs-to-friday"),  # Saturday
        pytest.param(jst(2026, 12, 5, 6, 0), False, id="ends-at-06-00"),  # Saturday
        pytest.param(jst(2026, 12, 5, 23, 0), False, id="saturday-night-not-started"),  # Saturday
        pytest.param(jst(2026, 12, 7, 5, 0), False, id="monday-morning-would-be-sundays"),  # Monday
        pytest.param(jst(2026, 12, 7, 22, 0), True, id="monday-night"),  # Monday
        pytest.param(jst(2026, 12, 8, 3, 0), True, id="tuesday-morning-belongs-to-monday"),  # Tuesday
    ],
)
def test_overnight_window_belongs_to_the_day_it_starts(at, expected):
    check({"uptime": "Mon-Fri 22:00-06:00", "timezone": "Asia/Tokyo"}, at, expected)


ABSOLUTE = "2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00"


@pytest.mark.parametrize(
    ("uptime", "at", "expected"),
    [
        pytest.param(ABSOLUTE, jst(2026, 12, 27, 9, 0), True, id="start-inclusive"),  # Sunday
        pytest.param(ABSOLUTE, jst(2026, 12, 27, 8, 59, 59), False, id="before"),  # Sunday
        pytest.param(ABSOLUTE, jst(2026, 12, 27, 17, 59, 59), True, id="last-second"),  # Sunday
        pytest.param(ABSOLUTE, jst(2026, 12, 27, 18, 0), False, id="end-exclusive"),  # Sunday
        pytest.param("2026-12-27T00:00:00Z/2026-12-28T00:00:00Z", jst(2026, 12, 28, 8, 0), True, id="z-and-slash"),
        pytest.param(f"Mon-Fri 09:00-19:00, {ABSOLUTE}", jst(2026, 12, 27, 12, 0), True, id="mixed-with-weekly"),
    ],
)
def test_absolute_entries_match_start_inclusive_end_exclusive(uptime, at, expected):
    check({"uptime": uptime, "timezone": "Asia/Tokyo"}, at, expected)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        pytest.param({"uptime": "always"}, True, id="uptime-always"),
        pytest.param({"uptime": " ALWAYS "}, True, id="uptime-always-any-case"),
        pytest.param({"uptime": "Never"}, False, id="uptime-never"),
        pytest.param({"downtime": "always"}, False, id="downtime-always"),
        pytest.param({"downtime": "never"}, True, id="downtime-never"),
    ],
)
def test_always_and_never(kwargs, expected):
    schedule = parse(**kwargs)
    assert schedule.is_up(jst(2026, 12, 2, 3, 0)) is expected  # Wednesday
    assert schedule.next_change(jst(2026, 12, 2, 3, 0)) is None


@pytest.mark.parametrize(
    ("kwargs", "at", "expected"),
    [
        pytest.param({"downtime": "Sat-Sun 00:00-24:00"}, jst(2026, 12, 5, 12, 0), False, id="weekend-down"),  # Sat
        pytest.param({"downtime": "Sat-Sun 00:00-24:00"}, jst(2026, 12, 7, 0, 0), True, id="monday-up"),  # Monday
        pytest.param({"downtime": "Mon-Fri 20:00-07:00"}, jst(2026, 12, 2, 6, 59), False, id="overnight-down"),  # Wed
        pytest.param({"downtime": "Mon-Fri 20:00-07:00"}, jst(2026, 12, 2, 7, 0), True, id="overnight-ends"),  # Wed
        pytest.param({"downtime": ABSOLUTE}, jst(2026, 12, 27, 10, 0), False, id="absolute-down"),  # Sunday
    ],
)
def test_downtime_specs_invert(kwargs, at, expected):
    check({**kwargs, "timezone": "Asia/Tokyo"}, at, expected)


# -- holidays and closed dates ----------------------------------------------------------------------

JP_OFFICE = {**OFFICE, "holidays": "JP"}  # Tuesday 2026-11-03 is Culture Day


@pytest.mark.parametrize(
    ("kwargs", "at", "expected"),
    [
        pytest.param(JP_OFFICE, jst(2026, 11, 3, 10, 0), False, id="holiday-closed"),  # Tuesday
        pytest.param(JP_OFFICE, jst(2026, 11, 4, 10, 0), True, id="day-after-open"),  # Wednesday
        pytest.param(OFFICE, jst(2026, 11, 3, 10, 0), True, id="without-holidays-open"),  # Tuesday
        pytest.param(
            {"uptime": "Mon-Fri 08:00-17:00", "timezone": "Europe/Berlin", "holidays": "DE-BY"},
            datetime(2026, 1, 6, 10, 0, tzinfo=BERLIN),
            False,
            id="subdivision-holiday",  # Tuesday, Epiphany
        ),
        pytest.param(
            {"uptime": "Mon-Fri 08:00-17:00", "timezone": "Europe/Berlin", "holidays": "DE-BE"},
            datetime(2026, 1, 6, 10, 0, tzinfo=BERLIN),
            True,
            id="not-a-holiday-in-another-subdivision",
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00", "timezone": "America/Los_Angeles", "holidays": "us-ca"},
            datetime(2026, 3, 31, 10, 0, tzinfo=ZoneInfo("America/Los_Angeles")),
            False,
            id="cesar-chavez-day",
        ),  # Tuesday
        pytest.param(
            {"uptime": "always", "timezone": "Asia/Tokyo", "holidays": "JP"},
            jst(2026, 11, 3, 10, 0),
            False,
            id="always-closes-on-holidays",
        ),  # Tuesday
        pytest.param(
            {**JP_OFFICE, "uptime": "Mon-Fri 09:00-19:00, 2026-11-03T09:00:00+09:00-2026-11-03T12:00:00+09:00"},
            jst(2026, 11, 3, 10, 0),
            True,
            id="absolute-beats-holiday",
        ),  # Tuesday
    ],
)
def test_holidays_keep_windows_closed(kwargs, at, expected):
    check(kwargs, at, expected)


NIGHT_SHIFT = {"uptime": "Mon-Fri 22:00-06:00", "timezone": "Asia/Tokyo", "holidays": "JP"}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(jst(2026, 11, 2, 23, 0), True, id="eve-window-opens"),  # Monday
        pytest.param(jst(2026, 11, 3, 5, 0), True, id="eve-window-runs-into-holiday"),  # Tuesday (holiday)
        pytest.param(jst(2026, 11, 3, 23, 0), False, id="holiday-window-does-not-open"),  # Tuesday (holiday)
        pytest.param(jst(2026, 11, 4, 5, 0), False, id="holiday-window-morning-after"),  # Wednesday
        pytest.param(jst(2026, 11, 4, 22, 0), True, id="next-window-opens"),  # Wednesday
    ],
)
def test_overnight_window_across_a_holiday_follows_its_start_day(at, expected):
    check(NIGHT_SHIFT, at, expected)


YEAR_END = {**OFFICE, "closed_dates": "2026-12-29..2027-01-03, 2026-12-24"}


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        pytest.param(jst(2026, 12, 24, 10, 0), False, id="single-date"),  # Thursday
        pytest.param(jst(2026, 12, 28, 10, 0), True, id="day-before-range"),  # Monday
        pytest.param(jst(2026, 12, 29, 10, 0), False, id="range-first-day-inclusive"),  # Tuesday
        pytest.param(jst(2027, 1, 1, 10, 0), False, id="across-year-end"),  # Friday
        pytest.param(jst(2027, 1, 4, 9, 0), True, id="reopens-after-range"),  # Monday
    ],
)
def test_closed_dates_keep_windows_closed(at, expected):
    check(YEAR_END, at, expected)


def test_closed_range_last_day_is_inclusive():
    schedule = parse(uptime="Mon-Sun 00:00-24:00", timezone="Asia/Tokyo", closed_dates="2026-12-29..2027-01-03")
    assert not schedule.is_up(jst(2027, 1, 3, 23, 59))  # Sunday
    assert schedule.is_up(jst(2027, 1, 4, 0, 0))  # Monday


@pytest.mark.parametrize(
    ("kwargs", "at", "expected"),
    [
        pytest.param(
            {"downtime": "Sat-Sun 00:00-24:00", "holidays": "JP"},
            jst(2026, 11, 3, 10, 0),
            False,
            id="holiday-is-downtime",
        ),  # Tuesday
        pytest.param(
            {"downtime": "Sat-Sun 00:00-24:00", "holidays": "JP"}, jst(2026, 11, 3, 23, 59), False, id="whole-local-day"
        ),  # Tuesday
        pytest.param(
            {"downtime": "Sat-Sun 00:00-24:00", "holidays": "JP"}, jst(2026, 11, 4, 0, 0), True, id="next-day-up"
        ),  # Wednesday
        pytest.param(
            {"downtime": "never", "closed_dates": "2026-12-24"},
            jst(2026, 12, 24, 12, 0),
            False,
            id="never-plus-closed-date",
        ),  # Thursday
        pytest.param(
            {"downtime": "never", "closed_dates": "2026-12-24"}, jst(2026, 12, 23, 12, 0), True, id="never-otherwise-up"
        ),  # Wednesday
    ],
)
def test_downtime_specs_add_closed_days_as_downtime(kwargs, at, expected):
    check({**kwargs, "timezone": "Asia/Tokyo"}, at, expected)


# -- next_change and transitions ----------------------------------------------------------------------


def test_next_change_is_strictly_after_at():
    schedule = parse(**OFFICE)
    assert schedule.next_change(jst(2026, 11, 30, 9, 0)) == jst(2026, 11, 30, 19, 0)  # Monday
    assert schedule.next_change(jst(2026, 11, 30, 8, 59, 59, 999999)) == jst(2026, 11, 30, 9, 0)


def test_next_change_skips_a_weekend():
    schedule = parse(**OFFICE)
    assert schedule.next_change(jst(2026, 12, 4, 19, 0)) == jst(2026, 12, 7, 9, 0)  # Friday -> Monday


def test_next_change_skips_closed_dates_across_year_end():
    schedule = parse(**YEAR_END)
    assert schedule.next_change(jst(2026, 12, 28, 19, 0)) == jst(2027, 1, 4, 9, 0)  # Monday -> Monday


def test_next_change_skips_a_holiday():
    assert parse(**JP_OFFICE).next_change(jst(2026, 11, 2, 19, 0)) == jst(2026, 11, 4, 9, 0)  # Mon -> Wed


def test_next_change_is_none_after_the_last_absolute_entry():
    schedule = parse(uptime=ABSOLUTE)
    assert schedule.next_change(jst(2026, 12, 1)) == jst(2026, 12, 27, 9, 0)
    assert schedule.next_change(jst(2026, 12, 27, 12, 0)) == jst(2026, 12, 27, 18, 0)
    assert schedule.next_change(jst(2026, 12, 27, 18, 0)) is None


def test_next_change_is_none_for_a_window_covering_the_whole_week():
    assert parse(uptime="Mon-Sun 00:00-12:00, Mon-Sun 12:00-24:00").next_change(jst(2026, 12, 1)) is None


def test_next_change_finds_a_holiday_months_ahead():
    schedule = parse(uptime="always", timezone="Asia/Tokyo", holidays="JP")
    assert schedule.next_change(jst(2026, 11, 24)) == jst(2026, 12, 31, 0, 0) + timedelta(days=1)  # Jan 1 2027


def test_next_change_returns_utc():
    assert parse(**OFFICE).next_change(jst(2026, 11, 30)).tzinfo is UTC


def test_transitions_list_each_change_with_the_new_state():
    schedule = parse(**JP_OFFICE)
    start = jst(2026, 11, 2)  # Monday
    assert schedule.transitions(start, start + timedelta(days=3)) == [
        (jst(2026, 11, 2, 9, 0), True),
        (jst(2026, 11, 2, 19, 0), False),
        (jst(2026, 11, 4, 9, 0), True),  # Tuesday is Culture Day
        (jst(2026, 11, 4, 19, 0), False),
    ]


def test_transitions_are_start_exclusive_end_inclusive():
    schedule = parse(**OFFICE)
    assert schedule.transitions(jst(2026, 11, 30, 9, 0), jst(2026, 11, 30, 19, 0)) == [
        (jst(2026, 11, 30, 19, 0), False)
    ]


def test_transitions_equal_iterated_next_change():
    schedule = parse(uptime="Mon-Fri 22:00-06:00, Sat 10:00-14:00", timezone="Europe/Berlin", holidays="DE-BY")
    start, end = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    walked, at = [], schedule.next_change(start)
    while at is not None and at <= end:
        walked.append((at, schedule.is_up(at)))
        at = schedule.next_change(at)
    assert schedule.transitions(start, end) == walked


def test_transitions_reject_an_end_before_the_start():
    with pytest.raises(ValueError, match="before start"):
        parse(**OFFICE).transitions(jst(2026, 12, 2), jst(2026, 12, 1))


@pytest.mark.parametrize("method", ["is_up", "next_change"])
def test_naive_datetimes_are_rejected(method):
    with pytest.raises(ScheduleError, match="naive datetime 2026-12-01T09:00:00"):
        getattr(parse(**OFFICE), method)(datetime(2026, 12, 1, 9, 0))


def test_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


def test_parse_returns_a_schedule_with_its_normalised_columns():
    schedule = parse(
        uptime="Mon-Fri 09:00-19:00", timezone="Asia/Tokyo", holidays="JP", closed_dates="2026-12-29..2027-01-03"
    )
    assert isinstance(schedule, Schedule)
    assert (schedule.kind, schedule.spec, schedule.timezone, schedule.holidays, schedule.closed_dates) == (
        "uptime",
        "Mon-Fri 09:00-19:00",
        "Asia/Tokyo",
        "JP",
        "2026-12-29..2027-01-03",
    )
    assert schedule.zone == TOKYO
    assert str(schedule) == "uptime Mon-Fri 09:00-19:00 (Asia/Tokyo), holidays JP, closed 2026-12-29..2027-01-03"


def test_holiday_calendars_are_built_once_per_country_subdivision_and_year():
    schedule_module._holiday_days.cache_clear()
    for _ in range(3):
        for zone in ("Asia/Tokyo", "UTC"):
            parse(uptime="Mon-Fri 09:00-17:00", timezone=zone, holidays="JP").transitions(
                jst(2026, 6, 1), jst(2027, 6, 1)
            )
    assert schedule_module._holiday_days.cache_info().misses == 2  # (JP, None, 2026) and (JP, None, 2027)


def test_a_year_of_transitions_for_a_thousand_projects_is_well_under_a_second():
    specs = [
        {"uptime": "Mon-Fri 09:00-19:00", "timezone": "Asia/Tokyo", "holidays": "JP"},
        {"uptime": "Mon-Fri 22:00-06:00", "timezone": "Europe/Berlin", "holidays": "DE-BY"},
        {"downtime": "Sat-Sun 00:00-24:00", "timezone": "America/New_York", "closed_dates": "2026-12-24..2027-01-01"},
        {"uptime": "Mon-Fri 08:00-18:00, Sat 10:00-14:00", "timezone": "Australia/Lord_Howe", "holidays": "AU-NSW"},
    ]
    schedules = [parse(**specs[i % len(specs)]) for i in range(1000)]
    start = jst(2026, 11, 30)  # Monday
    for warm in schedules[: len(specs)]:
        warm.transitions(start, start + timedelta(days=365))  # fill the offset and holiday caches
    began = time.perf_counter()
    count = sum(len(s.transitions(start, start + timedelta(days=365))) for s in schedules)
    elapsed = time.perf_counter() - began
    assert count > 400_000
    assert elapsed < 1.5, f"{elapsed:.2f} s"  # about 0.25 s when measured; generous for busy CI machines
