"""The SVG week timeline: bars that agree with the schedule, closed days, overrides, the now line."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.page.timeline_svg import DAY_WIDTH, LABEL_WIDTH, OverrideSpan, TimelineRow, up_spans, week_svg
from scaling.schedule.hours import parse

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")
MONDAY = date(2026, 11, 23)  # Monday 2026-11-23; Tokyo's Labour Thanksgiving Day
WEDNESDAY_NOON_UTC = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NS = {"s": "http://www.w3.org/2000/svg"}


def office(zone="Europe/Berlin", **kwargs):
    return parse(uptime="Mon-Fri 08:00-18:00", timezone=zone, **kwargs)


def render(rows, **kwargs):
    kwargs.setdefault("start", MONDAY)
    kwargs.setdefault("now", WEDNESDAY_NOON_UTC)
    return ET.fromstring(week_svg(rows, **kwargs))


def rows_of(svg):
    return {g.get("data-project"): g for g in svg.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "row"}


def elements(svg, css, project=None):
    """Elements with class `css` inside the project rows (not the legend), optionally of one project."""
    return [
        e
        for name, row in rows_of(svg).items()
        if project in (None, name)
        for e in row.iter()
        if css in (e.get("class") or "").split()
    ]


def shared_now_lines(svg):
    return [e for e in svg if e.get("class") == "now"]


def test_an_office_week_draws_one_bar_per_working_day():
    svg = render([TimelineRow("project-a", office())])
    assert len(elements(svg, "bar", "project-a")) == 5


def test_bars_start_and_end_where_the_schedule_changes():
    svg = render([TimelineRow("project-a", office())])
    monday = elements(svg, "bar")[0]
    assert (monday.get("data-start"), monday.get("data-end")) == ("2026-11-23T07:00:00Z", "2026-11-23T17:00:00Z")


def test_bars_sit_at_local_wall_time_in_the_projects_own_zone():
    svg = render([TimelineRow("project-a", office()), TimelineRow("project-b", office("Asia/Tokyo"))])
    tuesday_berlin = elements(svg, "bar", "project-a")[1]
    tuesday_tokyo = elements(svg, "bar", "project-b")[1]
    expected_x = LABEL_WIDTH + DAY_WIDTH + 8 * DAY_WIDTH / 24  # Tuesday 08:00
    assert float(tuesday_berlin.get("x")) == pytest.approx(expected_x)
    assert float(tuesday_tokyo.get("x")) == pytest.approx(expected_x)
    assert float(tuesday_berlin.get("width")) == pytest.approx(10 * DAY_WIDTH / 24)


def test_a_display_zone_draws_every_row_in_that_zone():
    svg = render([TimelineRow("project-b", office("Asia/Tokyo"))], display_zone="UTC")
    monday, tuesday = elements(svg, "bar")[:2]
    assert float(monday.get("x")) == LABEL_WIDTH  # Monday 08:00 JST is Sunday 23:00 UTC: clipped at the edge
    # Tuesday 08:00 JST is Monday 23:00 UTC
    assert float(tuesday.get("x")) == pytest.approx(LABEL_WIDTH + 23 * DAY_WIDTH / 24)


def test_a_holiday_removes_that_days_bar_and_is_marked_with_its_name():
    svg = render([TimelineRow("project-b", office("Asia/Tokyo", holidays="JP"))])
    assert len(elements(svg, "bar")) == 4
    (closed,) = elements(svg, "closed")
    assert closed.get("data-date") == "2026-11-23"
    assert "Labor Thanksgiving Day" in closed.find("s:title", NS).text


def test_closed_dates_are_marked_day_by_day():
    svg = render([TimelineRow("project-a", office(closed_dates="2026-11-26..2026-11-27"))])
    assert [e.get("data-date") for e in elements(svg, "closed")] == ["2026-11-26", "2026-11-27"]
    assert len(elements(svg, "bar")) == 3


def test_an_overnight_window_is_one_bar_across_midnight():
    svg = render([TimelineRow("batch", parse(uptime="Mon-Fri 22:00-06:00", timezone="America/New_York"))])
    bars = elements(svg, "bar")
    assert len(bars) == 5
    assert float(bars[0].get("width")) == pytest.approx(8 * DAY_WIDTH / 24)


def test_overrides_are_drawn_over_their_own_project_only():
    keep_up = OverrideSpan(
        "project-a",
        datetime(2026, 11, 25, 17, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 21, 0, tzinfo=UTC),
        up=True,
        label="alice: release",
    )
    svg = render(
        [TimelineRow("project-a", office()), TimelineRow("project-b", office("Asia/Tokyo"))], overrides=[keep_up]
    )
    (drawn,) = elements(svg, "override")
    assert drawn.get("class") == "override override-up"
    assert drawn.get("data-project") == "project-a"
    assert "alice: release" in drawn.find("s:title", NS).text
    assert float(drawn.get("width")) == pytest.approx(4 * DAY_WIDTH / 24)


def test_an_override_reaching_past_the_week_is_clipped_at_its_edge():
    down = OverrideSpan("project-a", datetime(2026, 11, 29, 12, 0, tzinfo=UTC), None, up=False)
    svg = render([TimelineRow("project-a", office())], overrides=[down])
    (drawn,) = elements(svg, "override-down")
    assert float(drawn.get("x")) + float(drawn.get("width")) == pytest.approx(LABEL_WIDTH + 7 * DAY_WIDTH)


def test_now_is_marked_in_each_rows_local_time():
    svg = render([TimelineRow("project-a", office()), TimelineRow("project-b", office("Asia/Tokyo"))])
    berlin_now, tokyo_now = (float(line.get("x1")) for line in elements(svg, "now"))
    assert berlin_now == pytest.approx(LABEL_WIDTH + 2 * DAY_WIDTH + 13 * DAY_WIDTH / 24)  # Wed 13:00 CET
    assert tokyo_now == pytest.approx(LABEL_WIDTH + 2 * DAY_WIDTH + 21 * DAY_WIDTH / 24)  # Wed 21:00 JST


def test_with_a_display_zone_now_is_one_line_across_all_rows():
    svg = render([TimelineRow("a", office()), TimelineRow("b", office())], display_zone="UTC")
    assert elements(svg, "now") == []
    (line,) = shared_now_lines(svg)
    assert float(line.get("x1")) == pytest.approx(LABEL_WIDTH + 2 * DAY_WIDTH + 12 * DAY_WIDTH / 24)


def test_now_outside_the_week_draws_no_line():
    svg = render([TimelineRow("project-a", office())], now=datetime(2026, 12, 9, tzinfo=UTC))
    assert elements(svg, "now") == [] and shared_now_lines(svg) == []


def test_a_dst_weekend_bar_spans_two_local_days_though_49_hours_pass():
    weekend = parse(uptime="Sat-Sun 00:00-24:00", timezone="Europe/Berlin")
    svg = render([TimelineRow("w", weekend)], start=date(2026, 10, 19))  # clocks go back Sunday 2026-10-25
    bar = elements(svg, "bar")[0]
    start, end = (datetime.fromisoformat(bar.get(k).replace("Z", "+00:00")) for k in ("data-start", "data-end"))
    assert end - start == timedelta(hours=49)
    assert float(bar.get("width")) == pytest.approx(2 * DAY_WIDTH)


def test_up_spans_clip_to_the_range():
    spans = up_spans(office(), datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    assert spans == [
        (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), datetime(2026, 11, 23, 17, 0, tzinfo=UTC)),
        (datetime(2026, 11, 24, 7, 0, tzinfo=UTC), datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
    ]


def test_text_is_escaped_so_the_document_stays_well_formed():
    text = week_svg(
        [TimelineRow("p", office(), note='<script>alert("x")</script> & more')], start=MONDAY, now=WEDNESDAY_NOON_UTC
    )
    ET.fromstring(text)
    assert "<script>" not in text


def test_the_svg_loads_nothing_from_outside():
    text = week_svg([TimelineRow("p", office(holidays="DE"))], start=MONDAY, now=WEDNESDAY_NOON_UTC)
    assert re.findall(r"https?://[^\"' ]+", text) == ["http://www.w3.org/2000/svg"]
    assert "href" not in text and "@import" not in text


def test_a_naive_now_is_rejected():
    with pytest.raises(ValueError, match="naive"):
        week_svg([], start=MONDAY, now=datetime(2026, 11, 25, 12, 0))


def test_no_projects_still_renders_a_valid_page_element():
    svg = render([])
    assert "no projects" in ET.tostring(svg, encoding="unicode")
