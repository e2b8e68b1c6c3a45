"""Every malformed schedule value raises ScheduleError quoting the bad part; good values normalise."""

import re

import pytest

from scaling.schedule.hours import ScheduleError, parse


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"uptime": "Mon-Fry 09:00-17:00"}, "unknown weekday 'Fry'; expected one of Mon, Tue", id="bad-weekday"
        ),
        pytest.param({"uptime": "Thur 09:00-17:00"}, "unknown weekday 'Thur'", id="four-letter-weekday"),
        pytest.param(
            {"uptime": "Mon-Fri-Sat 09:00-17:00"}, "'Mon-Fri-Sat' is not a weekday or range", id="three-day-range"
        ),
        pytest.param(
            {"uptime": "Mon-Fri 9-17"}, "'9-17' is not a time range; expected HH:MM-HH:MM", id="hours-without-minutes"
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00 Europe/Berln"},
            "time zone 'Europe/Berln' is not a known IANA time zone; expected an IANA name",
            id="unknown-entry-zone",
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00 europe/berlin"}, "did you mean 'Europe/Berlin'?", id="zone-case-hint"
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00", "timezone": "Mars/Olympus"},
            "timezone 'Mars/Olympus' is not a known IANA time zone",
            id="unknown-timezone",
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00", "timezone": "../../etc/passwd"},
            "timezone '../../etc/passwd' is not a known IANA time zone",
            id="path-as-timezone",
        ),
        pytest.param(
            {"uptime": "08:00-20:00 Europe/Paris"},
            "has no weekdays; write them out, e.g. 'Mon-Sun 08:00",
            id="no-weekdays",
        ),
        pytest.param(
            {"uptime": "foo"}, "cannot read uptime entry 'foo'; expected 'DAYS HH:MM-HH:MM [ZONE]'", id="garbage"
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00 Europe/Berlin extra"}, "cannot read uptime entry", id="extra-token"
        ),
        pytest.param({"downtime": "Sat"}, "cannot read downtime entry 'Sat'", id="downtime-is-named"),
        pytest.param({"uptime": "Mon-Fri 09:00-17:00,,Sat 10:00-12:00"}, "has an empty entry", id="double-comma"),
        pytest.param({"uptime": "Mon-Fri 09:00-17:00,"}, "has an empty entry", id="trailing-comma"),
        pytest.param(
            {"uptime": "always, Mon-Fri 09:00-17:00"}, "'always' must be the whole uptime value", id="always-in-a-list"
        ),
        pytest.param(
            {"uptime": "2026-12-27T09:00:00-2026-12-27T18:00:00"},
            "expected an absolute range 'YYYY-MM-DDTHH:MM:SS+HH:MM-",
            id="absolute-without-offset",
        ),
        pytest.param(
            {"uptime": "2026-13-27T09:00:00+09:00-2026-12-27T18:00:00+09:00"},
            "'2026-13-27T09:00:00+09:00' is not a valid date and time",
            id="absolute-month-13",
        ),
        pytest.param(
            {"uptime": "Mon-Fri 09:00-17:00", "downtime": "Sat-Sun 00:00-24:00"},
            "both uptime 'Mon-Fri 09:00-17:00' and downtime 'Sat-Sun 00:00-24:00' are set",
            id="both",
        ),
        pytest.param({}, "neither uptime nor downtime is set", id="neither"),
        pytest.param({"uptime": 9}, "uptime must be text, got int 9", id="not-text"),
        pytest.param({"uptime": "  ", "downtime": ""}, "neither uptime nor downtime is set", id="blank-both"),
        pytest.param(
            {"uptime": "always", "holidays": "XX"}, "holidays 'XX': unknown country 'XX'", id="unknown-holiday-country"
        ),
        pytest.param(
            {"uptime": "always", "holidays": "DE-ZZ"},
            "holidays 'DE-ZZ': unknown subdivision 'ZZ' of DE; expected one of BB, BE",
            id="unknown-subdivision",
        ),
        pytest.param(
            {"uptime": "always", "holidays": "JP-13"}, "none: JP has no subdivisions", id="country-without-subdivisions"
        ),
        pytest.param({"uptime": "always", "holidays": "DE-"}, "unknown subdivision '' of DE", id="dangling-dash"),
        pytest.param(
            {"uptime": "always", "closed_dates": "2027-01-03..2026-12-29"},
            "range '2027-01-03..2026-12-29' ends before it starts",
            id="closed-from-after-to",
        ),
        pytest.param(
            {"uptime": "always", "closed_dates": "2026-02-30"},
            "'2026-02-30' in '2026-02-30' is not a valid date; expected YYYY-MM-DD",
            id="closed-bad-date",
        ),
        pytest.param(
            {"uptime": "always", "closed_dates": "2026-12-24, 24.12.2026"},
            "'24.12.2026' in '24.12.2026' is not a valid date",
            id="closed-wrong-format",
        ),
        pytest.param(
            {"uptime": "always", "closed_dates": "2026-12-24..2026-12-2"},
            "'2026-12-2' in '2026-12-24..2026-12-2' is not a valid date",
            id="closed-short-date",
        ),
        pytest.param(
            {"uptime": "always", "closed_dates": "2026-12-24,,2026-12-31"},
            "have an empty entry",
            id="closed-empty-entry",
        ),
    ],
)
def test_malformed_values_raise_a_clear_schedule_error(kwargs, message):
    with pytest.raises(ScheduleError, match=re.escape(message)):
        parse(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "spec"),
    [
        pytest.param(
            {"uptime": " mon-fri 9:00-17:00 ,  SAT 10:00-12:00 Europe/Berlin"},
            "Mon-Fri 09:00-17:00, Sat 10:00-12:00 Europe/Berlin",
            id="weekly",
        ),
        pytest.param({"uptime": "Sat-Sat 10:00-12:00"}, "Sat 10:00-12:00", id="one-day-range"),
        pytest.param({"uptime": "ALWAYS"}, "always", id="always"),
        pytest.param({"downtime": "Never"}, "never", id="never"),
        pytest.param(
            {"uptime": "2026-12-27T00:00Z/2026-12-28T00:00:00+0900"},
            "2026-12-27T00:00:00+00:00-2026-12-28T00:00:00+09:00",
            id="absolute",
        ),
    ],
)
def test_specs_are_normalised(kwargs, spec):
    assert parse(**kwargs).spec == spec


def test_normalised_spec_round_trips():
    original = parse(
        uptime="mon-fri 22:00-6:00, 2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00",
        timezone="Asia/Tokyo",
        holidays="jp",
        closed_dates="2026-12-29 .. 2027-01-03,2026-12-24",
    )
    again = parse(
        uptime=original.spec, timezone=original.timezone, holidays=original.holidays, closed_dates=original.closed_dates
    )
    assert again == original
    assert again.closed_dates == "2026-12-29..2027-01-03, 2026-12-24"
    assert again.entries == ("Mon-Fri 22:00-06:00", "2026-12-27T09:00:00+09:00-2026-12-27T18:00:00+09:00")


@pytest.mark.parametrize(
    ("holidays", "normalised"),
    [("jp", "JP"), ("de-by", "DE-BY"), ("US-ca", "US-CA"), ("GB-eng", "GB-ENG"), ("JPN", "JPN")],
)
def test_holiday_codes_are_case_insensitive_and_normalised(holidays, normalised):
    assert parse(uptime="always", holidays=holidays).holidays == normalised


def test_empty_strings_mean_not_set():
    schedule = parse(uptime="Mon-Fri 09:00-17:00", downtime="", timezone="", holidays="", closed_dates="")
    assert (schedule.kind, schedule.timezone, schedule.holidays, schedule.closed_dates) == ("uptime", "UTC", None, None)


def test_several_holiday_calendars_are_refused_saying_only_one_is_allowed():
    with pytest.raises(ScheduleError, match="one calendar per project .*ClosedDates"):
        parse(uptime="Mon-Fri 09:00-17:00", timezone="Europe/Berlin", holidays="DE-BE, AT")


def test_a_spec_that_names_its_own_zone_is_not_shown_with_the_default_one():
    assert str(parse(uptime="Mon-Fri 08:00-19:00 Europe/Berlin")) == "uptime Mon-Fri 08:00-19:00 Europe/Berlin"
    assert str(parse(uptime="Mon-Fri 08:00-19:00", timezone="Asia/Tokyo")) == "uptime Mon-Fri 08:00-19:00 (Asia/Tokyo)"
