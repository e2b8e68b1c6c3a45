"""Week plans: transitions with local times, and the text chart people read at a glance."""

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.schedule.hours import parse
from scaling.schedule.timeline import ASCII, Transition, week_chart, week_transitions

UTC = UTC
TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, tzinfo=UTC)  # Monday 2026-11-30


def office(zone: str = "Asia/Tokyo", **kwargs):
    return parse(uptime="Mon-Fri 09:00-19:00", timezone=zone, **kwargs)


def test_week_transitions_give_utc_and_project_local_times():
    first = week_transitions(office(), start=MONDAY, days=7)[0]
    assert first == Transition(
        at_utc=datetime(2026, 11, 30, 10, 0, tzinfo=UTC),  # Monday 19:00 JST; it opened exactly at start
        at_local=datetime(2026, 11, 30, 19, 0, tzinfo=TOKYO),
        up=False,
    )
    assert first.at_local.tzinfo == TOKYO


def test_week_transitions_cover_the_requested_days():
    week = week_transitions(office(), start=datetime(2026, 11, 30, tzinfo=TOKYO), days=7)  # Monday 00:00 JST
    assert len(week) == 10
    assert [t.up for t in week[:2]] == [True, False]


def test_week_transitions_skip_holidays():
    week = week_transitions(office(holidays="JP"), start=datetime(2026, 11, 2, tzinfo=TOKYO), days=7)  # Monday
    assert datetime(2026, 11, 3, 9, 0, tzinfo=TOKYO) not in [t.at_local for t in week]  # Culture Day
    assert len(week) == 8


def test_week_transitions_exclude_a_change_at_start_and_include_one_at_the_end():
    start = datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)  # Monday, the office opens
    week = week_transitions(office(), start=start, days=1)
    assert [t.at_local for t in week] == [
        datetime(2026, 11, 30, 19, 0, tzinfo=TOKYO),
        datetime(2026, 12, 1, 9, 0, tzinfo=TOKYO),
    ]


def test_transition_is_frozen():
    transition = week_transitions(office(), start=MONDAY, days=1)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        transition.up = False


def test_chart_draws_one_cell_per_hour_in_local_time():
    chart = week_chart([("tokyo", office(), TOKYO)], start=MONDAY, days=2)
    header, ruler, row, legend = chart.splitlines()
    assert row == "tokyo Asia/Tokyo ·········██████████·····│·········██████████·····"
    assert header == "                 Mon 30 Nov              │Tue 01 Dec"
    assert ruler.startswith("                 0  3  6  9  12 15 18 21 │0  3")
    assert legend.startswith("█ up  · down  ▒ changes within the cell")


def test_chart_rows_in_different_zones_each_use_their_local_time():
    chart = week_chart([("tokyo", office(), TOKYO), ("berlin", office("Europe/Berlin"), BERLIN)], start=MONDAY, days=1)
    tokyo, berlin = chart.splitlines()[2:4]
    assert tokyo.split()[-1] == berlin.split()[-1] == "·········██████████·····"


def test_chart_marks_a_change_inside_a_cell_as_mixed():
    berlin = parse(uptime="Mon-Fri 07:30-20:30", timezone="Europe/Berlin")
    row = week_chart([("b", berlin, BERLIN)], start=MONDAY, days=1).splitlines()[2]
    assert row.endswith("·······▒████████████▒···")


def test_chart_shows_an_overnight_window_on_both_days():
    batch = parse(uptime="Fri 22:00-06:00", timezone="Asia/Tokyo")
    row = week_chart([("batch", batch, TOKYO)], start=datetime(2026, 12, 4, tzinfo=UTC), days=2).splitlines()[2]
    assert row.endswith("······················██│██████··················")  # Friday, Saturday


def test_chart_leaves_hours_skipped_by_dst_blank():
    always = parse(uptime="always", timezone="Europe/Berlin")
    chart = week_chart([("a", always, BERLIN)], start=datetime(2026, 3, 29, tzinfo=UTC), days=1)  # Sunday
    row, legend = chart.splitlines()[2:]
    assert row.endswith("██ █████████████████████")  # 02:00-03:00 does not exist
    assert "hour skipped by DST" in legend


def test_chart_draws_the_repeated_hour_once():
    berlin = parse(uptime="Sun 02:30-04:00", timezone="Europe/Berlin")  # Sunday 2026-10-25, clocks go back
    row = week_chart([("b", berlin, BERLIN)], start=datetime(2026, 10, 25, tzinfo=UTC), days=1).splitlines()[2]
    assert row.endswith("··▒█····················")


def test_chart_ascii_style_uses_only_ascii():
    chart = week_chart([("tokyo", office(), TOKYO)], start=MONDAY, days=2, style=ASCII, cell_minutes=30)
    assert chart.isascii()
    assert chart.splitlines()[2].endswith("|" + "." * 18 + "#" * 20 + "." * 10)


@pytest.mark.parametrize(
    ("cell_minutes", "expected"),
    [(120, "····▒████▒··"), (240, "··▒█▒·"), (15, "·" * 36 + "█" * 40 + "·" * 20)],
    ids=["2h", "4h", "15min"],
)
def test_chart_cell_size_is_configurable(cell_minutes, expected):
    chart = week_chart([("t", office(), TOKYO)], start=MONDAY, days=1, cell_minutes=cell_minutes)
    assert chart.splitlines()[2].endswith(" " + expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": datetime(2026, 11, 30)}, "is naive"),
        ({"start": MONDAY, "cell_minutes": 7}, "cell_minutes=7; expected a divisor of 1440"),
        ({"start": MONDAY, "days": 0}, "days=0; expected at least 1"),
    ],
    ids=["naive-start", "bad-cell-size", "no-days"],
)
def test_chart_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        week_chart([("t", office(), TOKYO)], **kwargs)


def test_chart_for_a_thousand_projects_is_fast():
    rows = [(f"p{i}", office(), TOKYO) for i in range(1000)]
    started = datetime.now()
    chart = week_chart(rows, start=MONDAY)
    assert len(chart.splitlines()) == 1003
    assert datetime.now() - started < timedelta(seconds=2)
