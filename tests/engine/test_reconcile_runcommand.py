"""One tick end to end through AKS run-command (a private cluster): one read command and one write command."""

from datetime import datetime, timedelta

import pytest

from scaling.annotations import ORIGINAL_REPLICAS
from scaling.plan.actions import Result
from tests.fixtures.reconcile_world import World, changes_of, sample_projects

pytestmark = pytest.mark.integration
MORNING = "2026-11-30T05:00:00+00:00"  # Monday 06:00 Berlin: the overnight batch window closes
EVENING = "2026-11-30T21:00:00+00:00"  # Monday 22:00 Berlin: it opens


@pytest.fixture
def world(settings, table_names, emu):
    emu.set_delays(run_command=0)
    return World.build(settings, table_names, emu, sample_projects("nightly-batch"))


def private(world):
    return world.emu.cluster("aks-private")


def run_commands(world) -> int:
    return world.emu.calls(service="arm", method="POST", route="*runCommand")


def settle(world, start: str) -> datetime:
    at = datetime.fromisoformat(start)
    for _ in range(4):
        if not world.tick(at).changes:
            return at + timedelta(minutes=5)
        at += timedelta(minutes=5)
    raise AssertionError("the cluster did not settle within four ticks")


def test_going_down_reads_in_one_command_and_writes_a_command_per_phase(world):
    world.emu.reset_calls()
    report = world.tick(MORNING)
    assert ("nightly-batch", "deployment/nightly-batch/batch-worker", "down") in changes_of(report)
    # one read, the worker's scale-down, then its KEDA pause (held back if the scale-down had failed)
    assert run_commands(world) == 3
    worker = private(world).deployment("nightly-batch", "batch-worker")
    assert worker["spec"]["replicas"] == 0 and worker["metadata"]["annotations"][ORIGINAL_REPLICAS] == "3"
    assert private(world).pool("batch").count == 0


def test_in_the_evening_the_pool_comes_back_first_and_the_worker_exactly(world):
    settle(world, MORNING)
    report = world.tick(EVENING)
    order = [target for _, target, direction in changes_of(report) if direction == "up"]
    assert order.index("nodepool/batch") < order.index("deployment/nightly-batch/batch-worker")
    # The restore carries the resourceVersion read at the start of the tick: if a controller touched the
    # worker meanwhile it is a 409 (busy) and the next tick restores it; either way the count is exact.
    restores = [o for o in report.changes if o.action.target == "deployment/nightly-batch/batch-worker"]
    at = datetime.fromisoformat(EVENING)
    while restores[-1].result is Result.BUSY and at < datetime.fromisoformat(EVENING) + timedelta(minutes=20):
        at += timedelta(minutes=5)
        restores += [o for o in world.tick(at).changes if o.action.target == "deployment/nightly-batch/batch-worker"]
    assert [(o.action.after, o.result) for o in restores][-1] == ("3", Result.OK)
    # From here on KEDA owns the count again (its ScaledObject is unpaused in the same write command).
    worker = private(world).deployment("nightly-batch", "batch-worker")
    assert ORIGINAL_REPLICAS not in worker["metadata"].get("annotations", {})
    pool = private(world).pool("batch")
    assert (pool.count, pool.enable_auto_scaling, pool.min_count, pool.max_count) == (2, True, 0, 5)


def test_a_quiet_tick_is_one_read_command_and_no_write(world):
    quiet = settle(world, MORNING)
    world.emu.reset_calls()
    report = world.tick(quiet)
    assert report.changes == ()
    assert run_commands(world) == 1 and world.writes() == 1  # the read command is a POST
    assert world.emu.calls(service="arm", method="PUT") == 0


def test_a_failing_read_command_fails_the_cluster_with_one_row_and_changes_nothing(world):
    world.emu.fail_run_command("exit", exit_code=1, logs="error: You must be logged in to the server")
    report = world.tick(MORNING)
    (cluster,) = report.clusters
    assert "exited 1" in cluster.error and report.changes == ()
    (row,) = world.audit(project="nightly-batch")
    assert (row.target, row.result) == ("cluster", Result.FAILED) and "logged in" in row.reason
    assert private(world).deployment("nightly-batch", "batch-worker")["spec"]["replicas"] == 3


def test_dry_run_sends_the_read_command_only(world):
    world.emu.reset_calls()
    report = world.tick(MORNING, dry_run=True)
    assert report.changes and {o.result for o in report.changes} == {Result.DRY_RUN}
    assert run_commands(world) == 1 and world.emu.calls(service="arm", method="PUT") == 0
