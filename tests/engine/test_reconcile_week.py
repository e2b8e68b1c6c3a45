"""A simulated week of ticks over the sample projects, against Azurite and the emulator.

Ticks run every 5 minutes from Monday 2026-11-23 00:00 UTC (Labour Thanksgiving Day in Japan) to the next
Monday. To keep the suite fast, the test runs the ticks that matter and a sample of the rest: every tick
from 5 minutes before to 5 minutes after each transition (and warm-up start), and one tick every two
hours; a skipped tick is a no-op tick (the plan is idempotent, which tests/plan/test_properties.py proves
and the sampled no-op ticks here check). `bench/tick_bench.py` runs all 2,016 ticks.

The week covers the API path (cluster aks-demo: project-a in Berlin, project-b in Tokyo with a GPU pool
warmed up 20 minutes early, platform-tools always up). At night, as people do in Storage Explorer, the
table changes under the app (EVENTS): project-a's namespace and pool are removed from its row (put back the
next day), project-b is disabled (its GPU pool started at night), project-a's row is deleted. Each time
what the app held is given back at the next tick, with the reason; the week ends with every object at its
original size. The run-command path (nightly-batch on
aks-private) has its own night in tests/engine/test_reconcile_runcommand.py: a run-command tick costs about a
second even in the emulator.
"""

from __future__ import annotations

import dataclasses
import os
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.plan.actions import PoolChange, Result
from scaling.settings import Settings
from scaling.storage.tables import TableNames
from tests.fixtures.reconcile_world import World, sample_projects

pytestmark = pytest.mark.integration
UTC = UTC
TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 23, tzinfo=UTC)  # Monday
END = START + timedelta(days=7)
STEP = timedelta(minutes=5)
SCALED = ("deployment/", "statefulset/", "nodepool/")
MOVED = START + timedelta(days=1, hours=21)  # Tuesday 22:00 Berlin: project-a's namespace and pool removed
PUT_BACK = START + timedelta(days=2, hours=12)  # Wednesday 13:00 Berlin: its row as it was
DISABLED = START + timedelta(days=2, hours=21)  # Wednesday 21:00 UTC, Thursday 06:00 Tokyo: project-b disabled
DELETED = START + timedelta(days=3, hours=21)  # Thursday 22:00 Berlin: project-a's row deleted
RELEASES = {
    (MOVED, "project-a"): "released: no longer listed",
    (DISABLED, "project-b"): "released: project disabled",
    (DELETED, "project-a"): "released: project deleted",
}
# When each project's row schedules it: [from, to) spans.
SCHEDULED = {"project-a": ((START, MOVED), (PUT_BACK, DELETED)), "project-b": ((START, DISABLED),)}


def edit_table(world, at, projects):
    """The night's change to the Projects table, made just before the tick at `at`."""
    from scaling.storage.projects import ProjectStore

    store, by_name = ProjectStore(world.service, world.names), {p.name: p for p in projects}
    if at == MOVED:
        store.upsert([dataclasses.replace(by_name["project-a"], namespaces=("project-a-next",), node_pools=())])
    elif at == PUT_BACK:
        store.upsert([by_name["project-a"]])
    elif at == DISABLED:
        store.upsert([dataclasses.replace(by_name["project-b"], enabled=False)])
    elif at == DELETED:
        store.prune([name for name in by_name if name != "project-a"])


def week_expectations(schedule_changes):
    """The schedule's changes while each row schedules its project, plus the releases (pools and workloads up)."""
    expected: dict[str, set] = defaultdict(set)
    for project, changes in schedule_changes.items():
        spans = SCHEDULED.get(project, ((START, END),))
        expected[project] = {c for c in changes if any(lo <= c[0] < hi for lo, hi in spans)}
    for at, project in RELEASES:
        expected[project] |= {(at, "workloads", "up"), (at, "pools", "up")}
    return expected


def expected_changes(projects) -> dict[str, set[tuple[datetime, str, str]]]:
    """Per project: (tick, "workloads" | "pools", direction) that must happen in the week."""
    expected: dict[str, set] = defaultdict(set)
    for p in projects:
        if p.spec.uptime == "always":
            continue
        first = "up" if p.schedule.is_up(START) else "down"
        expected[p.name] |= {(START, "workloads", first), (START, "pools", first)}
        for at, up in p.schedule.transitions(START, END - STEP):
            direction = "up" if up else "down"
            expected[p.name].add((at, "workloads", direction))
            pool_at = at - timedelta(minutes=p.warmup_minutes) if up else at
            expected[p.name].add((pool_at, "pools", direction))
    return expected


def ticks_to_run(expected) -> list[datetime]:
    chosen = {START + timedelta(hours=2 * i) for i in range(7 * 12)}
    for at in (MOVED, PUT_BACK, DISABLED, DELETED):
        chosen |= {at - STEP, at, at + STEP}
    for changes in expected.values():
        for at, _, _ in changes:
            chosen |= {at - STEP, at, at + STEP}
    return sorted(t for t in chosen if START <= t < END)


@pytest.fixture(scope="module")
def week(request, azurite, emulator):
    """Run the week once for all tests of this module (module-scoped: table names built here)."""
    emulator.reset()
    prefix = f"week{os.getpid()}"
    names = TableNames(
        projects=f"{prefix}Projects", overrides=f"{prefix}Overrides", audit=f"{prefix}Audit", locks=f"{prefix}Locks"
    )
    settings = dataclasses.replace(Settings.from_env({}), storage_connection=azurite.connection_string)
    projects = sample_projects("project-a", "project-b", "platform-tools")
    world = World.build(settings, names, emulator, projects)
    demo = emulator.cluster("aks-demo")
    originals = {
        "deployments": {
            (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["replicas"]
            for d in demo.objects("deployments")
        },
        "statefulsets": {
            (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["replicas"]
            for d in demo.objects("statefulsets")
        },
        "pools": {
            p.name: (p.count, p.enable_auto_scaling, p.min_count, p.max_count, dict(p.tags)) for p in demo.pools()
        },
    }
    schedule = expected_changes(projects)
    expected = week_expectations(schedule)
    reports, states = [], {}
    ticks = ticks_to_run(schedule)
    assert len(ticks) < 7 * 24 * 12 / 10  # the sample stays small (the bench runs all 2,016)
    for at in ticks:
        edit_table(world, at, projects)
        reports.append(world.tick(at))
        states[at] = {
            "deployments": {
                (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["replicas"]
                for d in demo.objects("deployments")
            },
            "statefulsets": {
                (d["metadata"]["namespace"], d["metadata"]["name"]): d["spec"]["replicas"]
                for d in demo.objects("statefulsets")
            },
            "pools": {
                p.name: (p.count, p.enable_auto_scaling, p.min_count, p.max_count, dict(p.tags)) for p in demo.pools()
            },
        }
    yield {
        "world": world,
        "projects": projects,
        "expected": expected,
        "schedule": schedule,
        "reports": reports,
        "originals": originals,
        "states": states,
    }
    emulator.reset()


def scaled(report):
    """(project, "workloads" | "pools", direction, target) of each workload or pool change, in execution order."""
    return [
        (
            o.action.why.project,
            "pools" if isinstance(o.action, PoolChange) else "workloads",
            o.action.direction.value,
            o.action.target,
        )
        for o in report.changes
        if o.action.target.startswith(SCALED)
    ]


def test_every_transition_happens_at_its_tick_and_no_other_tick_scales_anything(week):
    happened = defaultdict(set)
    for report in week["reports"]:
        for project, what, direction, _ in scaled(report):
            happened[project].add((report.now, what, direction))
    assert dict(happened) == dict(week["expected"])


def test_every_change_succeeds(week):
    results = {o.result for r in week["reports"] for o in r.changes if o.action.target.startswith(SCALED)}
    assert results == {Result.OK}


def test_pools_go_up_before_workloads_and_down_after_them(week):
    for report in week["reports"]:
        steps = scaled(report)
        for project in {s[0] for s in steps}:
            mine = [(what, direction) for p, what, direction, _ in steps if p == project]
            if ("pools", "up") in mine and ("workloads", "up") in mine:
                assert mine.index(("pools", "up")) < mine.index(("workloads", "up")), (report.now, mine)
            if ("pools", "down") in mine and ("workloads", "down") in mine:
                last_workload = max(i for i, s in enumerate(mine) if s == ("workloads", "down"))
                assert last_workload < mine.index(("pools", "down")), (report.now, mine)


def test_the_gpu_pool_starts_warmup_minutes_before_the_tokyo_workloads(week):
    pool_ups = sorted(at for at, what, d in week["schedule"]["project-b"] if what == "pools" and d == "up")
    workload_ups = sorted(at for at, what, d in week["schedule"]["project-b"] if what == "workloads" and d == "up")
    assert [w - p for p, w in zip(pool_ups, workload_ups, strict=True)] == [timedelta(minutes=20)] * 4
    assert [at.astimezone(TOKYO).strftime("%a %H:%M") for at in pool_ups] == [
        "Tue 08:40",
        "Wed 08:40",
        "Thu 08:40",
        "Fri 08:40",
    ]


def test_the_japanese_holiday_keeps_project_b_down_all_day(week):
    for report in week["reports"]:
        if report.now.astimezone(TOKYO).date() == datetime(2026, 11, 23).date():
            assert not [s for s in scaled(report) if s[0] == "project-b" and s[2] == "up"]


def test_every_up_restores_the_exact_original_sizes(week):
    originals, states = week["originals"], week["states"]
    project_of = {"project-a": ("project-a", "projecta"), "project-b": ("project-b", "gpu")}
    for report in week["reports"]:
        for project, what, direction, _ in scaled(report):
            if direction != "up" or what != "workloads":
                continue
            namespace, pool = project_of[project]
            state = states[report.now]
            for kind in ("deployments", "statefulsets"):
                for key, replicas in originals[kind].items():
                    if key[0] == namespace:
                        assert state[kind][key] == replicas, (report.now, kind, key)
            assert state["pools"][pool] == originals["pools"][pool]


def test_the_always_up_project_is_never_touched(week):
    assert not [s for r in week["reports"] for s in scaled(r) if s[0] == "platform-tools"]


def test_the_audit_has_a_row_for_every_change_of_the_week(week):
    rows = week["world"].audit(since=START, until=END)
    audited = sorted((r.time, r.target, r.result.value) for r in rows if r.action.startswith("scale-"))
    acted = sorted((rep.now, o.action.target, o.result.value) for rep in week["reports"] for o in rep.changes)
    assert audited == acted
    assert all(r.trigger == "schedule" and r.reason for r in rows if r.action.startswith("scale-"))


def test_what_the_table_stopped_claiming_at_night_is_released_at_the_next_tick_with_the_reason(week):
    released = defaultdict(set)
    for report in week["reports"]:
        for o in report.changes:
            if o.action.why.reason.startswith("released: "):
                released[(report.now, o.action.why.project)].add(o.action.why.reason)
    assert {key: reasons for key, reasons in released.items()} == {key: {r} for key, r in RELEASES.items()}


def test_the_gpu_pool_is_started_at_night_when_its_project_is_disabled(week):
    (report,) = [r for r in week["reports"] if r.now == DISABLED]
    gpu = [o for o in report.changes if o.action.target == "nodepool/gpu"]
    assert [(o.action.direction.value, o.result) for o in gpu] == [("up", Result.OK)]
    assert DISABLED.astimezone(TOKYO).hour == 6  # before Tokyo's business hours


def test_the_week_ends_with_every_object_at_its_original_size(week):
    last = week["states"][max(week["states"])]
    assert last == week["originals"]


def test_released_objects_are_left_alone_afterwards(week):
    for report in week["reports"]:
        if report.now > DELETED:
            assert [s for s in scaled(report) if s[0] in ("project-a", "project-b")] == [], report.now
