"""Nothing stays down without an owner: what a project disabled, deleted or no longer listing at night held
down is given back at the next tick, exactly, with the reason; on both access paths (Kubernetes API on
aks-demo, run-command on aks-private)."""

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from scaling.annotations import ORIGINAL_REPLICAS, OWNER, TAG_OWNER
from scaling.model import Release
from scaling.plan.actions import Notice, Result
from scaling.storage.projects import ProjectStore
from tests.fixtures.reconcile_world import World, sample_projects

pytestmark = pytest.mark.integration
API_NIGHT = datetime.fromisoformat("2026-11-30T21:00:00+00:00")  # Monday 22:00 Berlin, Tuesday 06:00 Tokyo
RC_NIGHT = datetime.fromisoformat("2026-11-30T05:00:00+00:00")  # Monday 06:00 Berlin: the batch window closes
STEP = timedelta(minutes=5)


def keeper():
    """A second row on aks-private (always up, naming no workload of its own) so the cluster stays known."""
    (batch,) = sample_projects("nightly-batch")
    return replace(batch, name="private-tools", namespaces=("private-tools",), node_pools=(), schedule=_always())


def _always():
    from scaling.schedule.hours import parse

    return parse(uptime="always")


PATHS = {
    "api": ("aks-demo", "project-a", API_NIGHT, lambda: sample_projects("project-a", "project-b", "platform-tools")),
    "run-command": ("aks-private", "nightly-batch", RC_NIGHT, lambda: sample_projects("nightly-batch") + [keeper()]),
}


@pytest.fixture(params=sorted(PATHS))
def path(request, settings, table_names, emu):
    emu.set_delays(run_command=0)
    cluster, project, night, projects = PATHS[request.param]
    world = World.build(settings, table_names, emu, projects())
    (row_,) = [p for p in projects() if p.name == project]
    seen = emu.cluster(cluster)
    before = sizes(seen, row_)
    world.tick(night)
    world.tick(night + STEP)
    assert sizes(seen, row_) != before, "the project went down"
    return world, Watch(seen, row_), project, night + 2 * STEP, before


class Watch:
    """The objects of one project as its row was when the test began."""

    def __init__(self, cluster, project):
        self.cluster, self.project = cluster, project


def sizes(cluster, project=None):
    if isinstance(cluster, Watch):
        cluster, project = cluster.cluster, cluster.project
    found = _sizes(cluster)
    return {
        k: v
        for k, v in found.items()
        if k.split("/")[1] in project.namespaces
        or (k.startswith("nodepool/") and k.split("/")[1] in project.node_pools)
    }


def _sizes(cluster):
    """Every workload's replicas and pool's settings, with their tags (bookkeeping gone when restored)."""
    found = {
        f"{kind}/{d['metadata']['namespace']}/{d['metadata']['name']}": (
            d["spec"]["replicas"],
            {k: v for k, v in (d["metadata"].get("annotations") or {}).items() if k.startswith("aks-hours/")},
        )
        for kind in ("deployments", "statefulsets")
        for d in cluster.objects(kind)
    }
    found |= {
        f"nodepool/{p.name}": (p.count, p.enable_auto_scaling, p.min_count, p.max_count, dict(p.tags))
        for p in cluster.pools()
    }
    return found


def store(world):
    return ProjectStore(world.service, world.names)


def row(world, name):
    return store(world).load().get(name)


def settle(world, at):
    reports = [world.tick(at), world.tick(at + STEP)]
    return reports, at + 2 * STEP


def released(reports):
    return [o for r in reports for o in r.changes if o.action.why.reason.startswith("released: ")]


def test_a_project_disabled_at_night_is_given_back_exactly_with_the_reason(path):
    world, cluster, project, at, before = path
    store(world).upsert([replace(row(world, project), enabled=False)])
    reports, at = settle(world, at)
    assert sizes(cluster) == before
    done = released(reports)
    assert done and {o.action.why.reason for o in done} == {"released: project disabled"}
    assert {o.result for o in done} == {Result.OK}
    audited = [r for r in world.audit(project=project) if (r.reason or "").startswith("released: ")]
    assert {r.reason for r in audited} == {"released: project disabled"} and len(audited) == len(done)
    assert world.tick(at).changes == ()  # then left alone


def test_a_row_deleted_at_night_is_given_back_exactly_with_the_reason(path):
    world, cluster, project, at, before = path
    store(world).prune([name for name in store(world).read() if name != project])
    reports, at = settle(world, at)
    assert sizes(cluster) == before
    assert {o.action.why.reason for o in released(reports)} == {"released: project deleted"}
    assert world.tick(at).changes == ()


def test_a_namespace_removed_at_night_is_given_back_as_no_longer_listed(path):
    world, cluster, project, at, before = path
    moved = replace(row(world, project), namespaces=(f"{project}-next",), node_pools=())
    store(world).upsert([moved])
    reports, at = settle(world, at)
    assert sizes(cluster) == before
    assert {o.action.why.reason for o in released(reports)} == {"released: no longer listed"}


def test_release_at_opening_waits_for_the_projects_opening(path):
    world, cluster, project, at, before = path
    store(world).upsert([replace(row(world, project), enabled=False, release=Release.AT_OPENING)])
    report = world.tick(at)
    assert released([report]) == []
    waiting = [o.action for o in report.outcomes if isinstance(o.action, Notice) and "next opening" in o.action.message]
    assert waiting
    opening = row(world, project).schedule.next_change(at)
    reports, _ = settle(world, opening)
    assert sizes(cluster) == before
    assert {o.action.why.reason for o in released(reports)} == {"released: project disabled (Release: at-opening)"}


def test_the_owner_is_written_with_the_remembered_size_and_removed_with_it(path):
    world, cluster, project, _, before = path
    held = {k: v for k, v in sizes(cluster).items() if v != before[k]}
    workloads = [v for k, v in held.items() if not k.startswith("nodepool/") and ORIGINAL_REPLICAS in v[1]]
    pools = [v for k, v in held.items() if k.startswith("nodepool/")]
    assert workloads and all(v[1][OWNER] == project for v in workloads)
    assert pools and all(v[4][TAG_OWNER] == project for v in pools)


def test_a_dry_run_tick_releases_nothing_even_for_a_deleted_row(path):
    world, cluster, project, at, before = path
    store(world).prune([name for name in store(world).read() if name != project])
    held = sizes(cluster)
    report = world.tick(at, dry_run=True)
    assert released([report]) and {o.result for o in released([report])} == {Result.DRY_RUN}
    assert sizes(cluster) == held
