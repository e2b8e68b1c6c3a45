"""Times people type (scaling/when.py): wall-clock times in a project's zone, durations, ISO 8601."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.when import WhenError, local_text, parse_duration, parse_since, parse_until

BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday; 11:00 in Berlin, 19:00 in Tokyo


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("3d", timedelta(days=3)),
        ("2 hours", timedelta(hours=2)),
        ("45 min", timedelta(minutes=45)),
        ("PT2H", timedelta(hours=2)),
        ("P1DT6H", timedelta(hours=30)),
    ],
)
def test_durations_people_type(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "2", "h", "2x", "2h later", "-2h", "PT"])
def test_a_bad_duration_is_refused_with_examples(text):
    with pytest.raises(WhenError, match="2h"):
        parse_duration(text)


def test_a_zero_duration_is_refused():
    with pytest.raises(WhenError, match="longer than zero"):
        parse_duration("0h")


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("22:00", BERLIN, "2026-11-24T21:00:00+00:00"),  # tonight in Berlin
        ("09:00", BERLIN, "2026-11-25T08:00:00+00:00"),  # already past today: tomorrow
        ("22:00", TOKYO, "2026-11-24T13:00:00+00:00"),  # 19:00 in Tokyo now
        ("tomorrow 09:00", BERLIN, "2026-11-25T08:00:00+00:00"),
        ("Fri 18:00", BERLIN, "2026-11-27T17:00:00+00:00"),
        ("tuesday 12:00", BERLIN, "2026-12-01T11:00:00+00:00"),  # a weekday is never today
        ("2026-12-24 12:00", BERLIN, "2026-12-24T11:00:00+00:00"),
        ("2026-12-24T12:00", TOKYO, "2026-12-24T03:00:00+00:00"),
        ("2026-12-24T12:00:00Z", TOKYO, "2026-12-24T12:00:00+00:00"),  # an offset is exact
        ("2026-12-24T12:00:00+01:00", TOKYO, "2026-12-24T11:00:00+00:00"),
    ],
)
def test_times_are_read_on_the_projects_wall_clock(text, zone, expected):
    assert parse_until(text, now=NOW, zone=zone).astimezone(UTC).isoformat() == expected


def test_a_time_a_dst_change_skips_is_refused():
    before_spring = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)  # Saturday; Berlin skips 02:00-03:00 on Sunday
    with pytest.raises(WhenError, match="does not exist in Europe/Berlin"):
        parse_until("02:30", now=before_spring + timedelta(hours=13), zone=BERLIN)


@pytest.mark.parametrize("text", ["tonight", "someday 10:00", "x" * 100])
def test_an_unreadable_time_quotes_it_and_gives_examples(text):
    with pytest.raises(WhenError, match="22:00"):
        parse_until(text, now=NOW, zone=BERLIN)


@pytest.mark.parametrize("text", ["25:00", "22:61"])
def test_an_impossible_time_of_day_says_the_range(text):
    with pytest.raises(WhenError, match="00:00-23:59"):
        parse_until(text, now=NOW, zone=BERLIN)


def test_since_takes_a_duration_ago_or_an_instant_with_offset():
    assert parse_since("2h", now=NOW) == NOW - timedelta(hours=2)
    assert parse_since("2026-11-20T00:00Z", now=NOW) == datetime(2026, 11, 20, tzinfo=UTC)
    with pytest.raises(WhenError, match="no offset"):
        parse_since("2026-11-20T00:00", now=NOW)


def test_local_text_shows_the_wall_clock_and_utc():
    assert local_text(datetime(2026, 11, 24, 21, 0, tzinfo=UTC), BERLIN) == "Tue 24 Nov 22:00 Europe/Berlin (21:00Z)"
