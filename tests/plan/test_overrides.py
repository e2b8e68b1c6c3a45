"""The planner with overrides: project-wide and targeted, up / down / replicas, active and expired."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from scaling.annotations import ORIGINAL_REPLICAS, OWNER
from scaling.model import WorkloadKind, WorkloadRef
from scaling.override import OverrideAction
from scaling.plan.actions import Direction, Notice, Trigger
from scaling.plan.decide import plan
from tests.fixtures.plan_builders import apply, changes, deployment, observed, override, pool, project

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday
LATER = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
WEB = WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "web")


def only(actions):
    assert len(actions) == 1, actions
    return actions[0]


def test_a_down_override_scales_down_in_business_hours_and_says_who_and_why():
    o = override(action=OverrideAction.DOWN, until=LATER, reason="cost review", actor="bob@example.com")
    change = only(plan([project()], [o], observed(deployment("project-a", "web", 2)), MONDAY_NOON))
    assert change.direction is Direction.DOWN
    assert (change.why.trigger, change.why.actor) == (Trigger.OVERRIDE, "bob@example.com")
    assert change.why.reason.startswith("cost review") and "2026-12-01 06:00Z" in change.why.reason


def test_an_up_override_keeps_workloads_and_pools_up_after_hours():
    p = project(node_pools=("pa",))
    seen = observed(pool("pa", 2), deployment("project-a", "web", 2))
    assert plan([p], [override(until=LATER)], seen, MONDAY_NIGHT) == []


def test_an_up_override_brings_a_sleeping_project_back_pools_first():
    p = project(node_pools=("pa",))
    seen = observed(pool("pa", 2), deployment("project-a", "web", 2))
    night = apply(seen, plan([p], [], seen, MONDAY_NIGHT))
    woken = plan([p], [override(until=LATER)], night, MONDAY_NIGHT)
    assert [(type(c).__name__, c.direction) for c in woken] == [
        ("PoolChange", Direction.UP),
        ("ObjectChange", Direction.UP),
    ]
    assert all(c.why.trigger is Trigger.OVERRIDE for c in woken)


def test_an_expired_override_is_ignored():
    expired = override(action=OverrideAction.DOWN, until=datetime(2026, 11, 30, 11, 0, tzinfo=UTC))
    assert plan([project()], [expired], observed(deployment("project-a", "web", 2)), MONDAY_NOON) == []


def test_an_override_ends_exactly_at_until():
    until = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # Monday 12:00 Berlin
    o = override(action=OverrideAction.DOWN, until=until)
    assert plan([project()], [o], observed(deployment("project-a", "web", 2)), until) == []


def test_an_override_of_another_project_does_not_apply():
    o = override("project-b", OverrideAction.DOWN, until=LATER)
    assert plan([project()], [o], observed(deployment("project-a", "web", 2)), MONDAY_NOON) == []


def test_a_targeted_override_changes_only_its_workload():
    o = override(action=OverrideAction.DOWN, until=LATER, target=WEB)
    seen = observed(deployment("project-a", "web", 2), deployment("project-a", "api", 2))
    assert [c.name for c in changes(plan([project()], [o], seen, MONDAY_NOON))] == ["web"]


def test_a_targeted_override_wins_over_the_project_wide_one():
    wide = override(action=OverrideAction.DOWN, until=LATER)
    keep_web = override(action=OverrideAction.UP, until=LATER, target=WEB)
    seen = observed(deployment("project-a", "web", 2), deployment("project-a", "api", 2))
    assert [c.name for c in changes(plan([project()], [wide, keep_web], seen, MONDAY_NOON))] == ["api"]


def test_replicas_sets_the_count_and_remembers_the_original():
    o = override(action=OverrideAction.REPLICAS, replicas=5, until=LATER, target=WEB)
    change = only(plan([project()], [o], observed(deployment("project-a", "web", 2, rv="9")), MONDAY_NOON))
    assert change.patch == {
        "metadata": {"resourceVersion": "9", "annotations": {ORIGINAL_REPLICAS: "2", OWNER: "project-a"}},
        "spec": {"replicas": 5},
    }
    assert change.direction is Direction.UP


def test_replicas_during_downtime_keeps_the_remembered_original():
    o = override(action=OverrideAction.REPLICAS, replicas=1, until=LATER, target=WEB)
    change = only(plan([project()], [o], observed(deployment("project-a", "web", 0, original=3)), MONDAY_NIGHT))
    assert change.patch == {"metadata": {"resourceVersion": "100"}, "spec": {"replicas": 1}}


def test_replicas_already_reached_plans_nothing():
    o = override(action=OverrideAction.REPLICAS, replicas=2, until=LATER, target=WEB)
    assert plan([project()], [o], observed(deployment("project-a", "web", 2)), MONDAY_NOON) == []


def test_after_a_replicas_override_expires_the_original_comes_back():
    o = override(
        action=OverrideAction.REPLICAS, replicas=5, until=datetime(2026, 11, 30, 12, 0, tzinfo=UTC), target=WEB
    )
    seen = observed(deployment("project-a", "web", 2))
    during = apply(seen, plan([project()], [o], seen, MONDAY_NOON))
    after = plan([project()], [o], during, datetime(2026, 11, 30, 14, 0, tzinfo=BERLIN))  # Monday
    assert only(after).patch["spec"] == {"replicas": 2}


def test_a_targeted_up_override_holds_its_node_pool_up_after_hours():
    p = project(node_pools=("gpu",))
    o = override(action=OverrideAction.UP, until=LATER, target=WEB)
    seen = observed(
        pool("gpu", 1),
        deployment("project-a", "web", 1, node_pool="gpu"),
        deployment("project-a", "api", 1, node_pool="other"),
    )
    assert [c.name for c in changes(plan([p], [o], seen, MONDAY_NIGHT))] == ["api"]


def test_an_override_for_a_workload_the_project_does_not_have_is_reported():
    o = override(
        action=OverrideAction.UP, until=LATER, target=WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "ghost")
    )
    notice = only(plan([project()], [o], observed(deployment("project-a", "web", 2)), MONDAY_NOON))
    assert isinstance(notice, Notice) and notice.target == "deployment/project-a/ghost"
    assert notice.why.trigger is Trigger.OVERRIDE
