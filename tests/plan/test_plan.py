"""The planner on workloads: what one tick decides for Deployments and StatefulSets, and in what order."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from scaling.annotations import ORIGINAL_REPLICAS, OWNER
from scaling.model import WorkloadKind
from scaling.plan.actions import Direction, Notice, ObjectChange, PoolChange, Result, Trigger
from scaling.plan.decide import Phase, phase_of, plan
from scaling.plan.observed import ObservedCluster
from tests.fixtures.plan_builders import CLUSTER, apply, changes, deployment, observed, pool, project

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday, business hours
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday, after hours


def only(actions):
    assert len(actions) == 1, actions
    return actions[0]


def test_going_down_sets_zero_and_remembers_the_count_in_one_patch():
    web = deployment("project-a", "web", 3, rv="41")
    change = only(plan([project()], [], observed(web), MONDAY_NIGHT))
    assert isinstance(change, ObjectChange)
    assert (change.resource, change.namespace, change.name) == ("deployments.apps", "project-a", "web")
    assert change.patch == {
        "metadata": {"resourceVersion": "41", "annotations": {ORIGINAL_REPLICAS: "3", OWNER: "project-a"}},
        "spec": {"replicas": 0},
    }
    assert (change.before, change.after, change.direction) == ("3", "0", Direction.DOWN)
    assert change.why.trigger is Trigger.SCHEDULE and change.why.project == "project-a"


def test_going_up_restores_the_remembered_count_and_deletes_the_annotation():
    web = deployment("project-a", "web", 0, original=3, rv="42")
    change = only(plan([project()], [], observed(web), MONDAY_NOON))
    assert change.patch == {
        "metadata": {"resourceVersion": "42", "annotations": {ORIGINAL_REPLICAS: None, OWNER: None}},
        "spec": {"replicas": 3},
    }
    assert (change.before, change.after, change.direction) == ("0", "3", Direction.UP)


def test_statefulsets_are_patched_as_statefulsets():
    db = deployment("project-a", "db", 1, kind=WorkloadKind.STATEFULSET)
    change = only(plan([project()], [], observed(db), MONDAY_NIGHT))
    assert change.resource == "statefulsets.apps" and change.target == "statefulset/project-a/db"


@pytest.mark.parametrize(
    ("workload", "now"),
    [
        pytest.param(deployment("project-a", "web", 3), MONDAY_NOON, id="up-and-running"),
        pytest.param(deployment("project-a", "web", 0, original=3), MONDAY_NIGHT, id="down-and-remembered"),
        pytest.param(deployment("project-a", "web", 0), MONDAY_NIGHT, id="down-without-memory"),
    ],
)
def test_nothing_due_plans_nothing(workload, now):
    assert plan([project()], [], observed(workload), now) == []


def test_a_workload_at_zero_in_business_hours_without_memory_is_left_alone_and_reported():
    notice = only(plan([project()], [], observed(deployment("project-a", "web", 0)), MONDAY_NOON))
    assert isinstance(notice, Notice) and notice.result is Result.SKIPPED
    assert notice.target == "deployment/project-a/web" and "no remembered size" in notice.message


def test_a_workload_scaled_up_by_hand_during_downtime_goes_back_to_zero_keeping_the_first_original():
    web = deployment("project-a", "web", 5, original=3, rv="7")
    change = only(plan([project()], [], observed(web), MONDAY_NIGHT))
    assert change.patch == {"metadata": {"resourceVersion": "7"}, "spec": {"replicas": 0}}
    morning = apply(observed(web), [change])
    restore = only(plan([project()], [], morning, MONDAY_NOON))
    assert restore.patch["spec"] == {"replicas": 3}


def test_a_remembered_count_equal_to_the_current_one_is_still_cleared():
    web = deployment("project-a", "web", 3, original=3)
    change = only(plan([project()], [], observed(web), MONDAY_NOON))
    assert change.patch["metadata"]["annotations"] == {ORIGINAL_REPLICAS: None, OWNER: None}
    assert plan([project()], [], apply(observed(web), [change]), MONDAY_NOON) == []


def test_a_workload_claimed_by_two_projects_is_reported_for_both_and_not_touched():
    a = project("project-a", namespaces=("shared",))
    b = project("project-b", namespaces=("shared",), uptime="always")
    actions = plan([a, b], [], observed(deployment("shared", "web", 2)), MONDAY_NIGHT)
    assert changes(actions) == []
    assert sorted(n.why.project for n in actions) == ["project-a", "project-b"]
    assert all(n.result is Result.FAILED and "several projects" in n.message for n in actions)


def test_workloads_and_exclude_columns_decide_what_a_project_manages():
    p = project(workloads=["deployment/web", "deployment/api"], exclude=["deployment/api"])
    seen = observed(
        deployment("project-a", "web", 2), deployment("project-a", "api", 2), deployment("project-a", "batch", 2)
    )
    assert [c.name for c in changes(plan([p], [], seen, MONDAY_NIGHT))] == ["web"]


def test_a_workload_listed_but_missing_is_reported():
    p = project(workloads=["deployment/web", "statefulset/db"])
    notice = only(plan([p], [], observed(deployment("project-a", "web", 0, original=1)), MONDAY_NIGHT))
    assert notice.target == "statefulset/db" and "not found" in notice.message


def test_an_excluded_workload_is_never_touched():
    web = deployment("project-a", "web", 2, excluded=True)
    assert plan([project()], [], observed(web), MONDAY_NIGHT) == []


def test_unreadable_annotations_leave_the_workload_alone_with_a_failed_notice():
    web = deployment("project-a", "web", 0, annotation_errors=("aks-hours/original-replicas='three'",))
    notice = only(plan([project()], [], observed(web), MONDAY_NOON))
    assert notice.result is Result.FAILED and "three" in notice.message


def test_a_disabled_project_is_ignored():
    assert plan([project(enabled=False)], [], observed(deployment("project-a", "web", 2)), MONDAY_NIGHT) == []


def test_a_dry_run_project_still_gets_its_changes_the_executor_records_them_as_dry_run():
    assert (
        len(changes(plan([project(dry_run=True)], [], observed(deployment("project-a", "web", 2)), MONDAY_NIGHT))) == 1
    )


def test_a_cluster_that_could_not_be_observed_gets_one_failed_notice_per_project():
    seen = {CLUSTER: ObservedCluster(CLUSTER, error="run-command exited 1")}
    actions = plan([project("project-a"), project("project-b", namespaces=("b",))], [], seen, MONDAY_NIGHT)
    assert [(n.why.project, n.result) for n in actions] == [("project-a", Result.FAILED), ("project-b", Result.FAILED)]
    assert all("run-command exited 1" in n.message for n in actions)


def test_a_naive_now_is_rejected():
    with pytest.raises(ValueError, match="naive"):
        plan([project()], [], observed(), datetime(2026, 11, 30, 12, 0))


def test_going_down_scales_workloads_before_node_pools():
    p = project(node_pools=("pa",))
    actions = plan([p], [], observed(pool("pa", 2), deployment("project-a", "web", 2)), MONDAY_NIGHT)
    assert [type(a) for a in actions] == [ObjectChange, PoolChange]
    assert [phase_of(a) for a in actions] == [Phase.WORKLOADS_DOWN, Phase.POOLS_DOWN]


def test_going_up_starts_node_pools_before_workloads():
    p = project(node_pools=("pa",))
    down = plan([p], [], observed(pool("pa", 2), deployment("project-a", "web", 2)), MONDAY_NIGHT)
    night = apply(observed(pool("pa", 2), deployment("project-a", "web", 2)), down)
    actions = plan([p], [], night, MONDAY_NOON)
    assert [type(a) for a in actions] == [PoolChange, ObjectChange]
    assert [phase_of(a) for a in actions] == [Phase.POOLS_UP, Phase.WORKLOADS_UP]


def test_phases_order_notices_then_down_workloads_then_up_pools_then_up_workloads_then_down_pools():
    assert list(Phase) == sorted(Phase)
    assert [p.name for p in Phase] == [
        "REPORT",
        "WORKLOADS_DOWN",
        "AUTOSCALERS_DOWN",
        "POOLS_UP",
        "AUTOSCALERS_UP",
        "WORKLOADS_UP",
        "POOLS_DOWN",
    ]


def test_clusters_are_planned_independently():
    from tests.fixtures.plan_builders import OTHER_CLUSTER

    a = project("project-a")
    b = project("project-b", namespaces=("b",), cluster=OTHER_CLUSTER)
    seen = {**observed(deployment("project-a", "web", 2)), **observed(deployment("b", "api", 2), cluster=OTHER_CLUSTER)}
    assert {(c.cluster.name, c.name) for c in plan([a, b], [], seen, MONDAY_NIGHT)} == {
        ("aks-shared", "web"),
        ("aks-other", "api"),
    }
