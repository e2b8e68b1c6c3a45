"""Releasing what no enabled project claims (scaling/plan/release.py): given back exactly, in morning
order, with the reason, then left alone."""

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from scaling.annotations import ORIGINAL_REPLICAS, OWNER, TAG_ORIGINAL_AUTOSCALING, TAG_ORIGINAL_COUNT, TAG_OWNER
from scaling.model import Release
from scaling.plan.actions import Notice, ObjectChange, PoolChange, Result
from scaling.plan.decide import Phase, phase_of, plan
from scaling.plan.observed import ObservedCluster, ObservedHpa, PoolSize
from scaling.plan.release import Rows, gpu_pool, orphans
from tests.fixtures.plan_builders import CLUSTER, apply, deployment, observed, pool, project

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday
TUESDAY_MORNING = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)  # Tuesday, business hours open
HELD_POOL = {TAG_ORIGINAL_COUNT: "2", TAG_ORIGINAL_AUTOSCALING: "false", TAG_OWNER: "project-a"}


def held_web(owner="project-a"):
    return deployment("project-a", "web", 0, original=3, owner=owner)


def held_pool(owner="project-a"):
    return replace(pool("gpu", 0, tags={**HELD_POOL, TAG_OWNER: owner}), owner=owner)


def changes(actions):
    return [a for a in actions if not isinstance(a, Notice)]


def test_a_disabled_projects_workload_is_given_back_at_night_with_the_reason():
    a = project(enabled=False)
    [restore] = changes(plan([a], [], observed(held_web()), MONDAY_NIGHT, rows=Rows((a,))))
    assert isinstance(restore, ObjectChange) and restore.patch["spec"] == {"replicas": 3}
    assert restore.patch["metadata"]["annotations"] == {ORIGINAL_REPLICAS: None, OWNER: None}
    assert restore.why.reason == "released: project disabled" and restore.why.project == "project-a"


def test_a_deleted_projects_pool_and_workload_are_released_pools_first():
    other = project("project-b", namespaces=("project-b",))
    actions = changes(plan([other], [], observed(held_web(), held_pool()), MONDAY_NIGHT, rows=Rows((other,))))
    assert [type(a) for a in actions] == [PoolChange, ObjectChange]
    assert phase_of(actions[0]) is Phase.POOLS_UP and phase_of(actions[1]) is Phase.WORKLOADS_UP
    assert actions[0].after == PoolSize(2, False, None, None) and TAG_OWNER not in actions[0].tags
    assert {a.why.reason for a in actions} == {"released: project deleted"}


def test_a_namespace_removed_from_an_enabled_project_is_released_as_no_longer_listed():
    a = project(namespaces=("project-a2",))
    [restore] = changes(plan([a], [], observed(held_web()), MONDAY_NIGHT, rows=Rows((a,))))
    assert restore.why.reason == "released: no longer listed"


def test_a_released_workload_is_left_alone_afterwards():
    a = project(enabled=False)
    seen = observed(held_web(), held_pool())
    after = apply(seen, plan([a], [], seen, MONDAY_NIGHT, rows=Rows((a,))))
    assert plan([a], [], after, MONDAY_NIGHT, rows=Rows((a,))) == []


def test_the_autoscaler_of_a_released_workload_is_released_before_it():
    a = project(enabled=False)
    hpa = ObservedHpa("project-a", "web", held_web().ref, 1, 1, "5", original_min=2, original_max=6)
    seen = {CLUSTER: ObservedCluster(CLUSTER, workloads=(held_web(),), hpas=(hpa,))}
    actions = changes(plan([a], [], seen, MONDAY_NIGHT, rows=Rows((a,))))
    assert [phase_of(x) for x in actions] == [Phase.AUTOSCALERS_UP, Phase.WORKLOADS_UP]
    assert actions[0].patch["spec"] == {"minReplicas": 2, "maxReplicas": 6}


def test_release_at_opening_waits_for_the_projects_next_opening_and_says_so():
    a = replace(project(enabled=False), release=Release.AT_OPENING)
    night = plan([a], [], observed(held_web()), MONDAY_NIGHT, rows=Rows((a,)))
    assert changes(night) == []
    [notice] = night
    assert "to be released at the project's next opening 2026-12-01 09:00 CET" in notice.message
    [restore] = changes(plan([a], [], observed(held_web()), TUESDAY_MORNING, rows=Rows((a,))))
    assert restore.why.reason == "released: project disabled (Release: at-opening)"


def test_release_at_opening_starts_pools_at_the_warm_up():
    a = replace(project(enabled=False, node_pools=("gpu",), warmup_minutes=20), release=Release.AT_OPENING)
    warm = datetime(2026, 12, 1, 8, 45, tzinfo=BERLIN)  # Tuesday, 15 minutes before opening
    actions = changes(plan([a], [], observed(held_web(), held_pool()), warm, rows=Rows((a,))))
    assert [type(x) for x in actions] == [PoolChange]


def test_nothing_is_released_for_a_row_that_does_not_load():
    rows = Rows((), frozenset({"project-a"}))
    actions = plan([], [], observed(held_web(), held_pool()), MONDAY_NIGHT, rows=rows)
    assert changes(actions) == []
    assert {a.result for a in actions} == {Result.FAILED}
    assert all("does not load" in a.message for a in actions)


def test_an_unowned_hold_waits_while_some_row_does_not_load():
    rows = Rows((), frozenset({"project-x"}))
    assert changes(plan([], [], observed(held_web(owner=None)), MONDAY_NIGHT, rows=rows)) == []


def test_an_unowned_hold_in_a_disabled_projects_namespace_is_that_projects():
    a = project(enabled=False)
    [restore] = changes(plan([a], [], observed(held_web(owner=None)), MONDAY_NIGHT, rows=Rows((a,))))
    assert restore.why.reason == "released: project disabled" and restore.why.project == "project-a"


def test_without_the_table_nothing_is_released():
    assert changes(plan([], [], observed(held_web(), held_pool()), MONDAY_NIGHT)) == []


def test_a_workload_an_enabled_project_still_claims_is_not_released():
    a = project()
    assert changes(plan([a], [], observed(held_web()), MONDAY_NIGHT, rows=Rows((a,)))) == []


def test_orphans_are_holds_in_namespaces_and_pools_no_row_names():
    b = project("project-b", namespaces=("project-b",), enabled=False)
    seen = observed(held_web(), held_pool(), deployment("project-b", "api", 0, original=1))[CLUSTER]
    assert orphans(seen, Rows((b,))) == ["deployment/project-a/web", "nodepool/gpu"]


def test_gpu_pools_are_the_n_series():
    assert gpu_pool(replace(pool("gpu"), vm_size="Standard_NC4as_T4_v3"))
    assert not gpu_pool(replace(pool("sys"), vm_size="Standard_D4s_v5"))


def test_the_gpu_warning_names_each_pool_its_nodes_and_the_hourly_price():
    from scaling.plan.release import gpu_warning

    gpu = replace(pool("gpu", 0), vm_size="Standard_NC4as_T4_v3")
    prices = {"Standard_NC4as_T4_v3": 0.5}
    text = gpu_warning([(gpu, PoolSize(2, True, 1, 3))], hourly=prices.get, currency="USD", when="now")
    assert text == "applying this releases 1 GPU pool now (about USD 1.00/h): gpu (Standard_NC4as_T4_v3, 2 nodes)"
    assert (
        gpu_warning([(pool("cpu", 0), PoolSize(2, False, None, None))], hourly=prices.get, currency="USD", when="now")
        is None
    )
