"""Views look at clusters side by side, and reuse a recent look at a run-command cluster; changes don't."""

from __future__ import annotations

import threading

import pytest

from scaling.api.backend import ContextBackend
from scaling.clusters.kept_views import VIEW_MAX_AGE, KeptViews
from scaling.clusters.per_cluster import each_cluster, observe_clusters
from scaling.plan.observed import ObservedCluster
from tests.fixtures.api_world import AUTH
from tests.fixtures.plan_builders import project as make_project

RUN_COMMAND_POSTS = {"service": "arm", "method": "POST", "route": "managedClusters/{cluster}/runCommand"}


def projects_on(*clusters: str):
    from scaling.names import ClusterId

    return [make_project(f"p-{name}", cluster=ClusterId("s", "rg", name)) for name in clusters]


def test_each_cluster_is_called_side_by_side():
    projects = projects_on("aks1", "aks2", "aks3")
    all_in = threading.Barrier(3, timeout=5)  # broken (an error) unless the three calls overlap

    def call(cluster, members):
        all_in.wait()
        return [p.name for p in members]

    assert each_cluster(projects, call) == {p.cluster: [p.name] for p in projects}


def test_a_cluster_that_cannot_be_observed_is_that_clusters_error_alone():
    class Backend:
        def observe(self, cluster, projects, *, for_view=False):
            assert for_view
            if cluster.name == "aks2":
                raise ConnectionError("aks2 API server unreachable")
            return ObservedCluster(cluster=cluster)

    seen = observe_clusters(Backend(), projects_on("aks1", "aks2"))
    assert [(c.name, s.error) for c, s in seen.items()] == [("aks1", None), ("aks2", "aks2 API server unreachable")]


AKS1 = projects_on("aks1")[0].cluster


def test_a_failed_look_is_not_kept():
    views, calls = KeptViews(clock=lambda: 0.0), []

    def observe():
        calls.append(1)
        return ObservedCluster(cluster=AKS1, error="run-command read: no result after 240s")

    views.look((AKS1, ("a",)), observe)
    views.look((AKS1, ("a",)), observe)
    assert len(calls) == 2


def test_a_look_that_was_running_while_the_cluster_changed_is_not_kept():
    views = KeptViews(clock=lambda: 0.0)

    def observe_during_a_change():
        views.forget(AKS1)  # the tick's write lands while this look is still reading
        return ObservedCluster(cluster=AKS1)

    views.look((AKS1, ("a",)), observe_during_a_change)
    assert views.get((AKS1, ("a",))) is None


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def batch(world):
    projects, _ = ContextBackend(world.context).load_projects()
    return [p for p in projects if p.name == "nightly-batch"]


def backend_with(world, clock: Ticks) -> ContextBackend:
    world.context.views = KeptViews(clock=clock)
    return ContextBackend(world.context)


@pytest.mark.integration
def test_a_view_of_a_run_command_cluster_reuses_a_look_younger_than_the_max_age(world):
    clock = Ticks()
    backend, members = backend_with(world, clock), batch(world)
    world.emulator.reset_calls()
    first = backend.observe(members[0].cluster, members, for_view=True)
    clock.now += VIEW_MAX_AGE
    assert backend.observe(members[0].cluster, members, for_view=True) is first
    assert world.emulator.calls(**RUN_COMMAND_POSTS) == 1
    clock.now += 1
    assert backend.observe(members[0].cluster, members, for_view=True) is not first
    assert world.emulator.calls(**RUN_COMMAND_POSTS) == 2


@pytest.mark.integration
def test_a_look_before_a_change_is_always_fresh(world):
    backend, members = backend_with(world, Ticks()), batch(world)
    world.emulator.reset_calls()
    backend.observe(members[0].cluster, members, for_view=True)
    backend.observe(members[0].cluster, members)
    assert world.emulator.calls(**RUN_COMMAND_POSTS) == 2


@pytest.mark.integration
def test_a_change_made_through_the_api_drops_the_kept_look(world):
    backend, members = backend_with(world, Ticks()), batch(world)
    kept = backend.observe(members[0].cluster, members, for_view=True)
    backend.reconcile(members[0], world.clock.now)
    assert backend.observe(members[0].cluster, members, for_view=True) is not kept


@pytest.mark.integration
def test_a_timer_tick_that_changes_the_cluster_drops_the_kept_look(world):
    backend, members = backend_with(world, Ticks()), batch(world)
    kept = backend.observe(members[0].cluster, members, for_view=True)
    report = world.tick()  # 11:00 in Berlin: nightly-batch goes down
    assert any(o.action.why.project == "nightly-batch" and o.result.value == "ok" for o in report.outcomes)
    assert backend.observe(members[0].cluster, members, for_view=True) is not kept


@pytest.mark.integration
def test_views_of_an_api_cluster_are_always_fresh(world):
    projects, _ = ContextBackend(world.context).load_projects()
    members = [p for p in projects if p.cluster.name == "aks-demo"]
    backend = backend_with(world, Ticks())
    assert backend.observe(members[0].cluster, members, for_view=True) is not backend.observe(
        members[0].cluster, members, for_view=True
    )


@pytest.mark.integration
def test_the_project_list_and_page_share_one_run_command_look(world):
    world.emulator.reset_calls()
    for path in ("/api/v1/projects", "/api/v1/projects/nightly-batch", "/api/v1/projects"):
        assert world.client.get(path, headers=AUTH).status_code == 200
    assert world.emulator.calls(**RUN_COMMAND_POSTS) == 1
