"""One tick end to end through the Kubernetes API path: Azurite tables, the emulator, real clients."""

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from scaling.annotations import ORIGINAL_REPLICAS, TAG_ORIGINAL_AUTOSCALING, TAG_ORIGINAL_COUNT
from scaling.clusters.kube import KINDS
from scaling.override import new_override
from scaling.plan.actions import Result, Trigger
from scaling.storage.overrides import OverrideStore
from tests.fixtures.reconcile_world import World, changes_of, notices_of, sample_projects

pytestmark = pytest.mark.integration
UTC = UTC
CLOSING = "2026-11-30T18:00:00+00:00"  # Monday 19:00 Berlin: project-a goes down
MORNING = "2026-12-01T07:00:00+00:00"  # Tuesday 08:00 Berlin: project-a comes up


@pytest.fixture
def world(settings, table_names, emu):
    return World.build(settings, table_names, emu, sample_projects("project-a", "platform-tools"))


def demo(world):
    return world.emu.cluster("aks-demo")


def settle_until_quiet(world, start: str) -> datetime:
    """Tick every 5 minutes from `start` until a tick changes nothing; return the next tick's time."""
    at = datetime.fromisoformat(start)
    for _ in range(4):
        if not world.tick(at).changes:
            return at + timedelta(minutes=5)
        at += timedelta(minutes=5)
    raise AssertionError("the cluster did not settle within four ticks")


def test_after_hours_workloads_go_to_zero_before_their_pool_with_originals_kept_on_the_objects(world):
    report = world.tick(CLOSING)
    order = [(target, direction) for project, target, direction in changes_of(report) if project == "project-a"]
    assert order.index(("deployment/project-a/sample-app-a", "down")) < order.index(("nodepool/projecta", "down"))
    app = demo(world).deployment("project-a", "sample-app-a")
    assert app["spec"]["replicas"] == 0 and app["metadata"]["annotations"][ORIGINAL_REPLICAS] == "2"
    pool = demo(world).pool("projecta")
    assert (pool.count, pool.enable_auto_scaling, pool.nodes) == (0, False, 0)
    assert pool.tags[TAG_ORIGINAL_COUNT] == "2" and pool.tags[TAG_ORIGINAL_AUTOSCALING] == "true"


def test_in_the_morning_the_pool_comes_first_and_everything_is_exactly_as_before(world):
    before_app = demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"]
    before_pool = demo(world).pool("projecta")
    settle_until_quiet(world, CLOSING)
    report = world.tick(MORNING)
    order = [(target, direction) for project, target, direction in changes_of(report) if project == "project-a"]
    assert order.index(("nodepool/projecta", "up")) < order.index(("deployment/project-a/sample-app-a", "up"))
    app = demo(world).deployment("project-a", "sample-app-a")
    assert app["spec"]["replicas"] == before_app and ORIGINAL_REPLICAS not in app["metadata"].get("annotations", {})
    pool = demo(world).pool("projecta")
    assert (pool.count, pool.enable_auto_scaling, pool.min_count, pool.max_count, pool.tags) == (
        before_pool.count,
        before_pool.enable_auto_scaling,
        before_pool.min_count,
        before_pool.max_count,
        before_pool.tags,
    )


def test_a_tick_with_nothing_to_do_writes_nothing_and_reads_the_budget(world):
    quiet = settle_until_quiet(world, CLOSING)
    world.emu.reset_calls()
    report = world.tick(quiet)
    assert report.changes == () and world.writes() == 0
    # Exactly one list per kind the app reads (Deployments, StatefulSets, HPAs, CronJobs, Jobs,
    # ScaledObjects: scaling.clusters.kube.KINDS) and one list of agent pools; never a GET per object.
    kube_reads = [n for (service, _, _), n in world.emu.counters().items() if service == "kube"]
    assert kube_reads == [1] * len(KINDS)
    assert world.emu.calls(service="arm", method="GET", route="*agentPools") == 1
    assert world.emu.calls() == len(KINDS) + 1


def test_dry_run_changes_nothing_and_audits_dry_run_rows(world):
    world.emu.reset_calls()
    report = world.tick(CLOSING, dry_run=True)
    assert report.changes and all(o.result is Result.DRY_RUN for o in report.changes)
    assert world.writes() == 0
    assert demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"] == 2
    rows = [r for r in world.audit(project="project-a") if r.action.startswith("scale-")]
    assert len(rows) == len(report.changes) and {r.result for r in rows} == {Result.DRY_RUN}


def test_a_dry_run_project_is_audited_but_not_scaled(settings, table_names, emu):
    world = World.build(settings, table_names, emu, sample_projects("project-a", dry_run=True))
    world.emu.reset_calls()
    report = world.tick(CLOSING)
    assert report.changes and {o.result for o in report.changes} == {Result.DRY_RUN}
    assert world.writes() == 0


def test_a_crash_between_scaling_down_and_the_audit_loses_no_original_size(world):
    world.service.delete_table(world.names.audit)  # the audit write fails after the cluster was scaled
    report = world.tick(CLOSING)
    (cluster,) = report.clusters
    assert cluster.audit_error and cluster.rows == 0
    assert demo(world).deployment("project-a", "sample-app-a")["metadata"]["annotations"][ORIGINAL_REPLICAS] == "2"
    world.service.create_table(world.names.audit)
    world.tick(MORNING)
    world.tick("2026-12-01T07:05:00+00:00")
    assert demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"] == 2
    assert demo(world).pool("projecta").count == 2


def test_every_change_and_its_result_is_in_the_audit(world):
    report = world.tick(CLOSING)
    rows = world.audit(project="project-a")
    assert sorted((r.target, r.action, r.result) for r in rows if r.action.startswith("scale-")) == sorted(
        (o.action.target, f"scale-{o.action.direction.value}", o.result)
        for o in report.changes
        if o.action.why.project == "project-a"
    )
    row = next(r for r in rows if r.target == "deployment/project-a/sample-app-a")
    assert (row.from_, row.to, row.trigger, row.tick) == ("2", "0", "schedule", report.tick_id)
    assert "outside business hours" in row.reason and row.cluster.endswith("/aks-demo")


def test_a_busy_pool_is_audited_busy_and_scaled_by_a_later_tick(world):
    demo(world).set_pool("projecta", provisioning_state="Updating")
    report = world.tick(CLOSING, settle=False)
    busy = [n for n in notices_of(report) if n.target == "nodepool/projecta"]
    assert busy and busy[0].result is Result.BUSY
    assert demo(world).pool("projecta").count == 2
    demo(world).set_pool("projecta", provisioning_state="Succeeded")
    world.tick("2026-11-30T18:05:00+00:00")
    assert demo(world).pool("projecta").count == 0


def test_a_conflict_on_an_unchanged_object_is_read_again_and_retried_once_at_once(world):
    # A 409 while only status moved (a controller's write): the decision stands, so the patch goes again.
    world.emu.fail(409, service="kube", method="PATCH", route="*/deployments/{name}", times=1)
    world.emu.reset_calls()
    report = world.tick(CLOSING)
    deployments = [o for o in report.changes if o.action.target.startswith("deployment/")]
    assert sorted(o.result.value for o in deployments) == ["ok", "ok"]
    assert world.emu.calls(service="kube", method="PATCH", route="*/deployments/{name}") == 3
    for name, original in (("sample-app-a", "2"), ("sample-app-a2", "1")):
        app = demo(world).deployment("project-a", name)
        assert app["spec"]["replicas"] == 0 and app["metadata"]["annotations"][ORIGINAL_REPLICAS] == original


def test_a_conflict_after_an_edit_the_decision_rests_on_is_busy_without_a_second_patch(world):
    world.emu.slow(0.5, service="kube", method="PATCH", route="*/deployments/{name}")
    world.emu.reset_calls()

    def edit_during_the_patch() -> None:
        deadline = time.monotonic() + 10
        # After the tick's lists (a call is counted once answered) its patches wait out their latency.
        while time.monotonic() < deadline and world.emu.calls(service="kube", method="GET") < len(KINDS):
            time.sleep(0.005)
        demo(world).patch("deployments", "project-a", "sample-app-a", {"metadata": {"labels": {"edited": "by-hand"}}})

    editor = threading.Thread(target=edit_during_the_patch)
    editor.start()
    report = world.tick(CLOSING)
    editor.join()
    results = {o.action.target: o.result for o in report.changes if o.action.target.startswith("deployment/")}
    assert results == {
        "deployment/project-a/sample-app-a": Result.BUSY,
        "deployment/project-a/sample-app-a2": Result.OK,
    }
    assert world.emu.calls(service="kube", method="PATCH", route="*/deployments/{name}") == 2


def test_a_conflict_that_persists_is_busy_and_the_next_tick_repairs_it(world):
    world.emu.fail(409, service="kube", method="PATCH", route="*/deployments/{name}")
    report = world.tick(CLOSING)
    deployments = [o for o in report.changes if o.action.target.startswith("deployment/")]
    assert sorted(o.result.value for o in deployments) == ["busy", "busy"]
    world.emu.clear_faults()
    world.tick("2026-11-30T18:05:00+00:00")
    for name, original in (("sample-app-a", "2"), ("sample-app-a2", "1")):
        app = demo(world).deployment("project-a", name)
        assert app["spec"]["replicas"] == 0 and app["metadata"]["annotations"][ORIGINAL_REPLICAS] == original


def test_an_override_wins_over_the_schedule_and_the_audit_says_who(world):
    (project,) = sample_projects("project-a")
    noon = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)  # Monday 12:00 Berlin
    override = new_override(project, "down", reason="cost review", actor="bob@example.com", now=noon, max_hours=72)
    OverrideStore(world.service, world.names.overrides).save(override)
    world.tick(noon)
    assert demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"] == 0
    row = next(r for r in world.audit(project="project-a") if r.target == "deployment/project-a/sample-app-a")
    assert (row.trigger, row.actor) == (Trigger.OVERRIDE.value, "bob@example.com")
    assert row.reason.startswith("cost review")


def test_a_cluster_that_cannot_be_read_is_one_failed_row_per_project(world):
    world.emu.fail(500, service="kube", cluster="aks-demo")
    report = world.tick(CLOSING)
    assert report.changes == () and world.writes() == 0
    failed = [r for r in world.audit(since=datetime(2026, 11, 30, tzinfo=UTC), until=datetime(2026, 12, 1, tzinfo=UTC))]
    assert sorted((r.project, r.target, r.result) for r in failed) == [
        ("platform-tools", "cluster", Result.FAILED),
        ("project-a", "cluster", Result.FAILED),
    ]


def test_the_cli_runs_one_tick_and_prints_its_outcomes(world):
    import io
    import json

    from scaling import cli

    env = {"SCALING_STORAGE_CONNECTION": world.settings.storage_connection, **world.emu.env()}
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["reconcile", "--once", "--now", CLOSING, "--dry-run", "--json"],
        env=env,
        table_names=world.names,
        stdout=out,
        stderr=err,
    )
    assert code == 0, err.getvalue()
    result = json.loads(out.getvalue())
    assert {
        "result": "dry-run",
        "project": "project-a",
        "target": "deployment/project-a/sample-app-a",
        "change": "2 -> 0",
    } in result["outcomes"]
    assert demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"] == 2


def test_reconcile_cluster_does_one_cluster_only(settings, table_names, emu):
    from scaling.names import cluster_id
    from scaling.reconcile import reconcile_cluster

    world = World.build(settings, table_names, emu, sample_projects("project-a", "nightly-batch"))
    world.emu.reset_calls()
    report = reconcile_cluster(
        cluster_id(emu.cluster_id("aks-demo")), datetime.fromisoformat(CLOSING), world.context, tick_id="fanout1"
    )
    assert report.projects == ("project-a",) and report.outcomes
    assert world.emu.calls(cluster="aks-private") == 0 and world.emu.calls(route="*runCommand") == 0
    assert demo(world).deployment("project-a", "sample-app-a")["spec"]["replicas"] == 0
    assert {r.tick for r in world.audit(project="project-a")} == {"fanout1"}
