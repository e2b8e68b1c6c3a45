"""Follow-through: a reconcile that leaves work in flight brings the app back to that cluster within
seconds, one follow-up per cluster at a time, until it settles; in serve by a timer, in Azure by a delayed
fan-out message handled by the worker under the cluster's lock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient

from scaling import followup
from scaling.fanout import ClusterMessage, Handled, Worker, drain, ensure_queue, queue_client
from scaling.followup import LocalFollowUps, QueueFollowUps, in_flight, round_of
from scaling.names import cluster_id
from scaling.plan.actions import Direction, Notice, Outcome, PoolChange, Result, Why
from scaling.plan.observed import PoolSize
from scaling.reconcile import reconcile_cluster
from scaling.storage.audit import AuditStore
from scaling.storage.locks import LockStore
from scaling.storage.tables import ensure_tables
from tests.fixtures.api_world import AUTH

UTC = UTC
SUB = "00000000-0000-0000-0000-000000000000"
T0 = datetime(2026, 11, 30, 19, 0, tzinfo=UTC)
A = cluster_id(f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/a")
B = cluster_id(f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/b")
WHY = Why("project-b")


def pool_change(result: Result) -> Outcome:
    size = PoolSize(count=1, enable_auto_scaling=False, min_count=None, max_count=None, power_state="Running")
    down = PoolSize(count=0, enable_auto_scaling=False, min_count=None, max_count=None, power_state="Running")
    return Outcome(PoolChange(A, "gpu", down, size, {}, Direction.UP, WHY), result)


BUSY = Outcome(Notice(A, "nodepool/gpu", "up due but the pool is Stopping: next tick", WHY, Result.BUSY), Result.BUSY)
SETTLED = Outcome(Notice(A, "deployment/x/y", "left alone", WHY), Result.SKIPPED)


# -- what counts as in flight ---------------------------------------------------------------------------------


def test_a_busy_outcome_is_work_in_flight():
    assert in_flight([SETTLED, BUSY]) == "nodepool/gpu busy"


def test_a_pool_operation_started_is_work_in_flight():
    assert in_flight([pool_change(Result.OK)]) == "nodepool/gpu operation started"


def test_a_failed_or_dry_run_pool_change_and_notices_are_not_in_flight():
    assert in_flight([pool_change(Result.FAILED), pool_change(Result.DRY_RUN), SETTLED]) is None


def test_a_follow_up_tick_id_counts_its_round_and_fits_the_fan_out_message():
    tick = followup.follow_up_tick(3)
    assert round_of(tick) == 3
    assert round_of("a1b2c3d4e5f6") == 0  # a timer tick
    assert ClusterMessage.parse(ClusterMessage(A, tick, T0).to_json()).tick == tick


# -- serve: the in-process timer --------------------------------------------------------------------------------


@dataclass
class Report:
    outcomes: tuple[Outcome, ...]


class Script:
    """A reconcile stand-in answering with the given outcomes, one list per call, then settled ones."""

    def __init__(self, *answers: list[Outcome]) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[object, str]] = []
        self.done = threading.Event()

    def __call__(self, cluster, now, tick) -> Report:
        self.calls.append((cluster, tick))
        answer = self.answers.pop(0) if self.answers else [SETTLED]
        if not self.answers:
            self.done.set()
        return Report(tuple(answer))


def wait_for(predicate, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_reconcile_that_settles_gets_no_follow_up():
    script = Script()
    followups = LocalFollowUps(script, delay=0.01)
    assert followups.after(A, [SETTLED], T0) is False
    assert followups.pending() == []


def test_work_in_flight_is_followed_up_until_the_cluster_settles():
    script = Script([BUSY], [pool_change(Result.OK)], [SETTLED])
    followups = LocalFollowUps(script, delay=0.01, clock=lambda: T0)
    assert followups.after(A, [BUSY], T0) is True
    wait_for(lambda: followups.fired == 3 and not followups.pending())
    time.sleep(0.05)  # nothing more comes once settled
    assert [round_of(tick) for _, tick in script.calls] == [1, 2, 3]
    assert followups.fired == 3


def test_one_follow_up_per_cluster_at_a_time():
    script = Script()
    followups = LocalFollowUps(script, delay=0.2)
    assert followups.after(A, [BUSY], T0) is True
    assert followups.after(A, [pool_change(Result.OK)], T0) is False  # the pending one covers it
    assert followups.after(B, [BUSY], T0) is True  # another cluster has its own
    assert followups.pending() == sorted([A, B])
    followups.stop()


def test_follow_ups_end_after_max_rounds_leaving_the_cluster_to_the_ticks(monkeypatch):
    monkeypatch.setattr(followup, "MAX_ROUNDS", 3)
    script = Script(*([[BUSY]] * 10))
    followups = LocalFollowUps(script, delay=0.01)
    followups.after(A, [BUSY], T0)
    wait_for(lambda: followups.fired == 3 and not followups.pending())
    time.sleep(0.05)
    assert len(script.calls) == 3


def test_stop_cancels_pending_follow_ups():
    script = Script()
    followups = LocalFollowUps(script, delay=0.05)
    followups.after(A, [BUSY], T0)
    followups.stop()
    time.sleep(0.1)
    assert script.calls == []
    assert followups.after(A, [BUSY], T0) is False


def test_a_follow_up_whose_reconcile_raises_ends_quietly():
    def boom(cluster, now, tick):
        raise RuntimeError("cluster unreachable")

    followups = LocalFollowUps(boom, delay=0.01)
    followups.after(A, [BUSY], T0)
    wait_for(lambda: followups.fired == 1)
    assert followups.pending() == []


# -- the whole engine: a scale after hours finds the GPU pool busy ------------------------------------------------


@pytest.mark.integration
def test_a_scale_up_that_finds_the_pool_busy_is_finished_by_follow_ups_without_a_tick(world):
    world.emulator.set_delays(pool_operation=6)  # a tick here takes seconds (run-command cluster too)
    world.tick()  # 10:00Z = 19:00 Tokyo: project-b goes down, its GPU pool starts its operation
    runs: list[str] = []

    def run(cluster, now, tick):
        runs.append(tick)
        return reconcile_cluster(cluster, now, world.context, tick_id=tick)

    world.context.followups = LocalFollowUps(run, delay=0.2, clock=world.clock)
    try:
        response = world.client.post(
            "/api/v1/deployments/project-b/triton-resnet50/scale-up", headers=AUTH, json={"replicas": 1, "reason": "x"}
        )
        assert response.status_code == 200, response.text
        assert any("busy" in line for line in response.json()["pending"]), response.json()["pending"]
        demo = world.emulator.cluster("aks-demo")

        def pool_up() -> bool:
            pool = demo.pool("gpu")
            return pool.nodes >= 1 and pool.provisioning_state == "Succeeded"

        wait_for(lambda: pool_up() and not world.context.followups.pending(), seconds=30)
    finally:
        world.context.followups.stop()
    assert runs and all(tick.startswith("followup-") for tick in runs)
    rows = [r for r in world.audit_rows("project-b") if r.target == "nodepool/gpu" and r.result.value == "ok"]
    assert any((r.tick or "").startswith("followup-") for r in rows), [(r.tick, r.action) for r in rows]


# -- Azure: a delayed message on the fan-out queue, under the lock ---------------------------------------------


@pytest.fixture
def azure(settings, table_names):
    service = TableServiceClient.from_connection_string(settings.storage_connection)
    ensure_tables(service, table_names)
    queue = queue_client(settings)
    ensure_queue(queue)
    yield (
        queue,
        service.get_table_client(table_names.locks),
        LockStore(service, table_names.locks),
        AuditStore(service, table_names.audit),
    )
    queue.delete_queue()


@pytest.mark.integration
def test_in_azure_a_follow_up_is_one_delayed_message_per_cluster(azure):
    queue, table, _, _ = azure
    followups = QueueFollowUps(queue, table, delay=2)
    assert followups.after(A, [BUSY], T0) is True
    assert followups.after(A, [BUSY], T0 + timedelta(seconds=1)) is False  # one pending per cluster
    assert list(queue.receive_messages()) == []  # not visible before the delay
    time.sleep(2.5)
    [received] = list(queue.receive_messages())
    message = ClusterMessage.parse(received.content)
    assert (message.cluster, round_of(message.tick), message.tick_time) == (A, 1, T0 + timedelta(seconds=2))


@pytest.mark.integration
def test_in_azure_a_new_follow_up_may_be_claimed_once_the_pending_one_is_due(azure):
    queue, table, _, _ = azure
    followups = QueueFollowUps(queue, table, delay=1)
    assert followups.claim(A, due=T0 + timedelta(seconds=20), now=T0) is True
    assert followups.claim(A, due=T0 + timedelta(seconds=30), now=T0 + timedelta(seconds=10)) is False
    assert followups.claim(A, due=T0 + timedelta(seconds=40), now=T0 + timedelta(seconds=21)) is True


@pytest.mark.integration
def test_in_azure_the_worker_handles_a_follow_up_under_the_lock_and_follows_up_again_while_in_flight(azure):
    queue, table, locks, audit = azure
    followups = QueueFollowUps(queue, table, delay=1)
    answers = [[BUSY], [SETTLED]]
    handled: list[str] = []

    def reconcile(cluster, now, tick):
        handled.append(tick)
        return Report(tuple(answers.pop(0)))

    def after(message, report, now):
        followups.after(message.cluster, report.outcomes, now, tick=message.tick)

    worker = Worker(locks=locks, audit=audit, reconcile=reconcile, owner="instance-1", after=after)
    assert followups.after(A, [pool_change(Result.OK)], T0) is True
    clock = iter(T0 + timedelta(seconds=s) for s in range(2, 100, 2))
    for _ in range(2):
        time.sleep(1.3)
        results = drain(queue, worker, clock=lambda: next(clock))
        assert [r.outcome for r in results] == [Handled.DONE]
    assert [round_of(tick) for tick in handled] == [1, 2]
    time.sleep(1.3)
    assert list(queue.receive_messages()) == []  # settled: no third message
    assert locks.read(A).owner == ""  # the lock was released after each
