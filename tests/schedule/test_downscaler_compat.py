"""Every spec kube-downscaler accepts is accepted with its meaning; the suspicious ones come with warnings.

The cases are kube-downscaler's own (hjacobs/kube-downscaler tests/test_time.py, kube_downscaler/helper.py):
it compares minutes of the day, so an empty window never matches and out-of-range clocks are arithmetic.
"""

from datetime import UTC, datetime

import pytest

from scaling.schedule.hours import parse
from scaling.schedule.lint import spec_warnings

SUNDAY_1533 = datetime(2017, 11, 26, 15, 33, tzinfo=UTC)  # Sunday 2017-11-26
MONDAY_0000 = datetime(2026, 11, 30, tzinfo=UTC)  # Monday 2026-11-30


def test_an_empty_window_is_accepted_and_never_matches():
    schedule = parse(uptime="Mon-Mon 00:00-00:00 CET")
    assert not schedule.is_up(MONDAY_0000)
    assert schedule.next_change(MONDAY_0000) is None


def test_an_empty_window_is_reported_as_a_warning():
    (warning,) = spec_warnings("uptime", "Mon-Mon 00:00-00:00 CET")
    assert "never matches" in warning and "Mon-Mon 00:00-00:00 CET" in warning


@pytest.mark.parametrize(
    ("spec", "up"),
    [
        pytest.param("Mon-Sun 00:00-24:00 CET", True, id="whole-week"),
        pytest.param("Sat-Sun 15:30-16:00 UTC", True, id="weekend-afternoon"),
        pytest.param("Sat-Sun 15:34-16:00 UTC", False, id="starts-after"),
        pytest.param("Mon-Fri 08:00-18:00 UTC", False, id="weekdays"),
        pytest.param("Mon-Fri 08:00-18:00 UTC, Sun-Sun 15:30-16:00 UTC", True, id="list"),
        pytest.param("2017-11-26T14:04:48+00:00-2017-11-26T16:04:48+00:00", True, id="absolute-inside"),
        pytest.param("2017-11-26T14:04:48+00:00-2017-11-26T15:04:48+00:00", False, id="absolute-before"),
    ],
)
def test_kube_downscaler_cases_mean_the_same(spec, up):
    assert parse(uptime=spec).is_up(SUNDAY_1533) is up


def test_a_wrapping_day_range_is_kube_downscalers_wrap():
    # Sunday 2018-11-04 20:30 UTC is Monday 09:30 in Auckland
    at = datetime(2018, 11, 4, 20, 30, tzinfo=UTC)
    assert parse(uptime="Mon-Fri 09:00-10:00 Pacific/Auckland").is_up(at)
    assert not parse(uptime="Sat-Sun 09:00-10:00 Pacific/Auckland").is_up(at)


@pytest.mark.parametrize(
    ("spec", "up_at", "down_at"),
    [
        pytest.param("Mon-Fri 08:75-18:00", (9, 15), (9, 14), id="minute-75-is-09-15"),
        pytest.param("Mon-Fri 23:00-25:00", (23, 30), (22, 59), id="end-past-midnight-is-end-of-day"),
    ],
)
def test_out_of_range_clocks_are_minutes_of_the_day(spec, up_at, down_at):
    schedule = parse(uptime=spec)
    assert schedule.is_up(MONDAY_0000.replace(hour=up_at[0], minute=up_at[1]))
    assert not schedule.is_up(MONDAY_0000.replace(hour=down_at[0], minute=down_at[1]))
    assert spec_warnings("uptime", spec)


def test_a_start_from_24_00_never_matches():
    schedule = parse(uptime="Mon-Fri 24:00-26:00")
    assert schedule.next_change(MONDAY_0000) is None
    assert "never matches" in spec_warnings("uptime", "Mon-Fri 24:00-26:00")[0]


def test_a_reversed_absolute_range_is_accepted_and_never_matches():
    spec = "2026-12-27T18:00:00+09:00-2026-12-27T09:00:00+09:00"
    schedule = parse(uptime=spec)
    assert not schedule.is_up(datetime(2026, 12, 27, 3, tzinfo=UTC))
    assert "never matches" in spec_warnings("uptime", spec)[0]


def test_an_overnight_window_still_crosses_midnight():
    # The one deliberate difference: kube-downscaler never matches it; this app's documented reading stays.
    schedule = parse(uptime="Mon-Fri 22:00-06:00")
    assert schedule.is_up(datetime(2026, 12, 1, 5, tzinfo=UTC))  # Tuesday 05:00, Monday's window
    assert spec_warnings("uptime", "Mon-Fri 22:00-06:00") == ()


def test_ordinary_specs_have_no_warnings():
    assert spec_warnings("uptime", "Mon-Fri 08:00-18:00 Europe/Berlin, Sat 10:00-14:00") == ()
    assert spec_warnings("downtime", "never") == ()
