"""A simulated week of ticks over the sample projects, against Azurite and the emulator.

Ticks run every 5 minutes from Monday 2026-11-23 00:00 UTC (Labour Thanksgiving Day in Japan) to the next
Monday. To keep the suite fast, the test runs the ticks that matter and a sample of the rest: every tick
from 5 minutes before to 5 minutes after each transition (and warm-up start), and one tick every two
hours; a skipped tick is a no-op tick (the plan is idempotent, which tests/plan/test_properties.py proves
and the sampled no-op ticks here check). `bench/tick_bench.py` runs all 2,016 ticks.

The week covers the API path (cluster aks-demo: project-a in Berlin, project-b in Tokyo with a GPU pool
warmed up 20 minutes early, platform-tools always up). The run-command path (nightly-batch on
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
    expected = expected_changes(projects)
    reports, states = [], {}
    ticks = ticks_to_run(expected)
    assert len(ticks) < 7 * 24 * 12 / 10  # the sample stays small (the bench runs all 2,016)
    for at in ticks:
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
    pool_ups = sorted(at for at, what, d in week["expected"]["project-b"] if what == "pools" and d == "up")
    workload_ups = sorted(at for at, what, d in week["expected"]["project-b"] if what == "workloads" and d == "up")
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
