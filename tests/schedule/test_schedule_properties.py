"""Property tests: the interval engine (`next_change`, `transitions`) agrees with the literal `is_up`."""

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from scaling.schedule.hours import WEEKDAYS, Schedule, parse

UTC = UTC
MINUTE = timedelta(minutes=1)
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "Australia/Lord_Howe", "UTC"]
HOLIDAYS = ["", "JP", "DE-BY", "US-NY", "AU-NSW"]
# Days where something happens: DST changes of the zones above, holidays, the turn of the year.
INTERESTING = [
    datetime(2026, 3, 29, tzinfo=UTC),  # Sunday, Berlin spring forward
    datetime(2026, 10, 25, tzinfo=UTC),  # Sunday, Berlin fall back
    datetime(2026, 3, 8, tzinfo=UTC),  # Sunday, New York spring forward
    datetime(2026, 11, 1, tzinfo=UTC),  # Sunday, New York fall back
    datetime(2026, 4, 4, 12, tzinfo=UTC),  # Saturday, Lord Howe fall back (Sunday local)
    datetime(2026, 10, 3, 12, tzinfo=UTC),  # Saturday, Lord Howe spring forward (Sunday local)
    datetime(2026, 11, 3, tzinfo=UTC),  # Tuesday, Culture Day (JP)
    datetime(2026, 12, 31, tzinfo=UTC),  # Thursday, year end
]
# Clock times near DST changes are over-represented.
CLOCK = st.one_of(st.integers(0, 1439), st.sampled_from([0, 60, 90, 120, 150, 180, 540, 1140, 1320]))


@st.composite
def weekly_entries(draw) -> str:
    first, last = draw(st.sampled_from(WEEKDAYS)), draw(st.sampled_from(WEEKDAYS))
    start = draw(CLOCK)
    end = draw(st.one_of(CLOCK, st.just(1440)).filter(lambda m: m != start))
    zone = draw(st.sampled_from([""] + ZONES))
    days = first if first == last else f"{first}-{last}"
    return f"{days} {start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d} {zone}".strip()


@st.composite
def absolute_entries(draw) -> str:
    start = draw(instants(minutes_only=True))
    length = draw(st.integers(1, 3 * 24 * 60)) * MINUTE
    offset = timezone(timedelta(minutes=draw(st.sampled_from([-300, 0, 60, 330, 540]))))
    return f"{start.astimezone(offset).isoformat()}-{(start + length).astimezone(offset).isoformat()}"


@st.composite
def closed_dates(draw) -> str:
    items = []
    for _ in range(draw(st.integers(0, 3))):
        first = datetime(2026, 1, 1) + timedelta(days=draw(st.integers(0, 730)))
        last = first + timedelta(days=draw(st.integers(0, 10)))
        items.append(f"{first:%Y-%m-%d}" if first == last else f"{first:%Y-%m-%d}..{last:%Y-%m-%d}")
    return ", ".join(items)


@st.composite
def schedules(draw) -> Schedule:
    entries = draw(st.lists(st.one_of(weekly_entries(), weekly_entries(), absolute_entries()), min_size=1, max_size=3))
    spec = draw(st.one_of(st.just(", ".join(entries)), st.sampled_from(["always", "never"])))
    kind = draw(st.sampled_from(["uptime", "downtime"]))
    return parse(
        **{kind: spec},
        timezone=draw(st.sampled_from(ZONES)),
        holidays=draw(st.sampled_from(HOLIDAYS)),
        closed_dates=draw(closed_dates()),
    )


@st.composite
def instants(draw, minutes_only: bool = False) -> datetime:
    base = draw(
        st.one_of(
            st.sampled_from(INTERESTING),
            st.integers(0, 2 * 365).map(lambda d: datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=d)),
        )
    )
    at = base + draw(st.integers(-36 * 60, 36 * 60)) * MINUTE
    if not minutes_only:
        at += timedelta(seconds=draw(st.integers(0, 59)), microseconds=draw(st.integers(0, 999_999)))
    return at


@settings(max_examples=60, deadline=None)
@given(schedules(), instants(minutes_only=True))
def test_transitions_are_exactly_the_minutes_where_is_up_changes(schedule, start):
    # Every edge is a whole minute (window edges, offsets and generated absolute entries all are), so a
    # minute-by-minute walk of the literal rule finds every change.
    end = start + timedelta(hours=30)
    walked, before = [], schedule.is_up(start)
    minute = start + MINUTE
    while minute <= end:
        now = schedule.is_up(minute)
        if now != before:
            walked.append((minute, now))
        before, minute = now, minute + MINUTE
    assert schedule.transitions(start, end) == walked


@settings(max_examples=100, deadline=None)
@given(schedules(), instants())
def test_next_change_is_the_first_instant_where_is_up_differs(schedule, at):
    change = schedule.next_change(at)
    if change is None:
        assert schedule.transitions(at, at + timedelta(days=800)) == []
        return
    assert change > at
    assert schedule.is_up(change) != schedule.is_up(at)
    assert schedule.is_up(max(at, change - timedelta(seconds=1))) == schedule.is_up(at)
    assert schedule.transitions(at, change)[0] == (change, schedule.is_up(change))


@settings(max_examples=40, deadline=None)
@given(schedules(), instants())
def test_transitions_equal_iterated_next_change(schedule, start):
    end = start + timedelta(days=10)
    walked, at = [], schedule.next_change(start)
    while at is not None and at <= end:
        walked.append((at, schedule.is_up(at)))
        at = schedule.next_change(at)
    assert schedule.transitions(start, end) == walked


@settings(max_examples=40, deadline=None)
@given(schedules(), instants())
def test_normalised_columns_parse_to_the_same_schedule(schedule, start):
    again = parse(
        **{schedule.kind: schedule.spec},
        timezone=schedule.timezone,
        holidays=schedule.holidays,
        closed_dates=schedule.closed_dates,
    )
    assert again == schedule
    assert again.transitions(start, start + timedelta(days=8)) == schedule.transitions(start, start + timedelta(days=8))
