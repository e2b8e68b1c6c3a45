"""The planner against the clock: warm-up of node pools, holidays, and local times across DST changes."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from scaling.plan.actions import Direction, ObjectChange, PoolChange
from scaling.plan.decide import plan
from tests.fixtures.plan_builders import apply, changes, deployment, observed, pool, project

UTC = UTC
TOKYO = ZoneInfo("Asia/Tokyo")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

GPU_PROJECT = project(
    "project-b",
    namespaces=("project-b",),
    uptime="Mon-Fri 09:00-19:00",
    timezone="Asia/Tokyo",
    holidays="JP",
    node_pools=("gpu",),
    warmup_minutes=20,
)
NIGHT = observed(
    pool("gpu", 0, tags={"aks-hours-original-count": "1", "aks-hours-original-autoscaling": "false"}),
    deployment("project-b", "triton", 0, original=1, node_pool="gpu"),
)
DAY = observed(pool("gpu", 1), deployment("project-b", "triton", 1, node_pool="gpu"))


def kinds(actions):
    return [(type(a).__name__, a.direction.value) for a in changes(actions)]


def test_the_gpu_pool_starts_warmup_minutes_before_business_hours_and_the_workload_waits():
    at = datetime(2026, 11, 30, 8, 40, tzinfo=TOKYO)  # Monday
    assert kinds(plan([GPU_PROJECT], [], NIGHT, at)) == [("PoolChange", "up")]


def test_the_gpu_pool_does_not_start_before_its_warmup():
    at = datetime(2026, 11, 30, 8, 39, 59, tzinfo=TOKYO)  # Monday
    assert plan([GPU_PROJECT], [], NIGHT, at) == []


def test_the_workload_comes_up_at_business_hours_after_the_warm_pool():
    at = datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)  # Monday
    warm = apply(NIGHT, plan([GPU_PROJECT], [], NIGHT, datetime(2026, 11, 30, 8, 40, tzinfo=TOKYO)))
    assert kinds(plan([GPU_PROJECT], [], warm, at)) == [("ObjectChange", "up")]


def test_warmup_does_not_take_the_pool_down_early_in_the_evening():
    at = datetime(2026, 11, 30, 18, 45, tzinfo=TOKYO)  # Monday, 15 minutes before closing
    assert plan([GPU_PROJECT], [], DAY, at) == []


def test_at_closing_the_workload_goes_down_before_the_pool():
    at = datetime(2026, 11, 30, 19, 0, tzinfo=TOKYO)  # Monday
    assert kinds(plan([GPU_PROJECT], [], DAY, at)) == [("ObjectChange", "down"), ("PoolChange", "down")]


def test_no_warmup_on_a_public_holiday():
    at = datetime(2026, 11, 23, 8, 40, tzinfo=TOKYO)  # Monday, Labour Thanksgiving Day
    assert plan([GPU_PROJECT], [], NIGHT, at) == []


def test_warmup_on_the_working_day_after_a_holiday():
    at = datetime(2026, 11, 24, 8, 45, tzinfo=TOKYO)  # Tuesday
    assert kinds(plan([GPU_PROJECT], [], NIGHT, at)) == [("PoolChange", "up")]


def test_no_warmup_on_friday_evening_for_the_weekend():
    at = datetime(2026, 12, 6, 8, 45, tzinfo=TOKYO)  # Sunday
    assert plan([GPU_PROJECT], [], NIGHT, at) == []


SUNDAY_SHIFT = project(uptime="Sun 03:00-12:00", timezone="Europe/Berlin", node_pools=("pa",), warmup_minutes=20)
SUNDAY_NIGHT = observed(
    pool("pa", 0, tags={"aks-hours-original-count": "2", "aks-hours-original-autoscaling": "false"})
)


def test_warmup_counts_real_minutes_in_the_repeated_autumn_hour():
    # Sunday 2026-10-25: 02:50 CEST (first pass) is 70 real minutes before 03:00 CET; wall-clock
    # arithmetic (02:50 + 20 min = 03:10) would start the pool 50 minutes early.
    first_pass = datetime(2026, 10, 25, 2, 50, tzinfo=BERLIN, fold=0)
    assert first_pass.astimezone(UTC) == datetime(2026, 10, 25, 0, 50, tzinfo=UTC)
    assert plan([SUNDAY_SHIFT], [], SUNDAY_NIGHT, first_pass) == []


def test_warmup_starts_in_the_second_pass_of_the_autumn_hour():
    second_pass = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN, fold=1)  # Sunday, CET, 15 min before 03:00 CET
    assert kinds(plan([SUNDAY_SHIFT], [], SUNDAY_NIGHT, second_pass)) == [("PoolChange", "up")]


def test_warmup_before_a_start_right_after_the_spring_gap():
    # Sunday 2026-03-29: 01:45 CET is 15 real minutes before 03:00 CEST (02:00-03:00 does not exist).
    at = datetime(2026, 3, 29, 1, 45, tzinfo=BERLIN)
    assert kinds(plan([SUNDAY_SHIFT], [], SUNDAY_NIGHT, at)) == [("PoolChange", "up")]
    assert plan([SUNDAY_SHIFT], [], SUNDAY_NIGHT, datetime(2026, 3, 29, 1, 35, tzinfo=BERLIN)) == []


def test_business_hours_follow_local_time_the_day_after_dst_ends():
    p = project(uptime="Mon-Fri 09:00-17:00", timezone="America/New_York")
    seen = observed(deployment("project-a", "web", 0, original=2))
    # Monday 2026-11-02, the day after New York left DST: 09:00 EST is 14:00 UTC (it was 13:00 UTC on Friday).
    assert plan([p], [], seen, datetime(2026, 11, 2, 13, 55, tzinfo=UTC)) == []
    change = plan([p], [], seen, datetime(2026, 11, 2, 14, 0, tzinfo=UTC))[0]
    assert isinstance(change, ObjectChange) and change.direction is Direction.UP


def test_a_downtime_spec_project_is_down_in_its_downtime():
    p = project(uptime=None, downtime="Sat-Sun 00:00-24:00", timezone="Europe/Berlin", node_pools=("pa",))
    seen = observed(pool("pa", 2), deployment("project-a", "web", 2))
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN)
    assert kinds(plan([p], [], seen, saturday)) == [("ObjectChange", "down"), ("PoolChange", "down")]
    assert plan([p], [], seen, datetime(2026, 12, 4, 23, 59, tzinfo=BERLIN)) == []  # Friday
    assert all(isinstance(a, (ObjectChange, PoolChange)) for a in plan([p], [], seen, saturday))
