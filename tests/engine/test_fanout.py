"""Fan-out over Azurite's queue service: one message per cluster, one reconcile per cluster and tick,
never two at once, duplicates harmless, poison messages audited."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from scaling.fanout import (
    MAX_BODY,
    SYSTEM_PROJECT,
    BadMessage,
    ClusterMessage,
    Handled,
    Worker,
    clusters_of,
    drain,
    enqueue_tick,
    ensure_queue,
    poison_name,
    queue_client,
)
from scaling.names import ClusterId, cluster_id
from scaling.storage.audit import AuditStore
from scaling.storage.locks import LockStore, Verdict
from scaling.storage.tables import ensure_tables

pytestmark = pytest.mark.integration

UTC = UTC
SUB = "00000000-0000-0000-0000-000000000000"
# Monday 2026-11-30 09:00 UTC
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def cid(name: str) -> ClusterId:
    return cluster_id(
        f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/{name}"
    )


A, B, C = cid("aks-a"), cid("aks-b"), cid("aks-c")


class Recorder:
    """A reconcile_cluster stand-in: records calls, tracks concurrency per cluster, fails on demand."""

    def __init__(self, *, seconds: float = 0.0, failures: int = 0) -> None:
        self.calls: list[tuple[ClusterId, datetime, str]] = []
        self.seconds, self.failures = seconds, failures
        self._lock = threading.Lock()
        self.running: dict[ClusterId, int] = {}
        self.max_running: dict[ClusterId, int] = {}

    def __call__(self, cluster: ClusterId, now: datetime, tick: str) -> None:
        with self._lock:
            self.running[cluster] = self.running.get(cluster, 0) + 1
            self.max_running[cluster] = max(self.max_running.get(cluster, 0), self.running[cluster])
            self.calls.append((cluster, now, tick))
            fail = self.failures > 0
            self.failures -= 1 if fail else 0
        try:
            time.sleep(self.seconds)
            if fail:
                raise RuntimeError("cluster API unreachable")
        finally:
            with self._lock:
                self.running[cluster] -= 1


@pytest.fixture
def service(settings) -> TableServiceClient:
    return TableServiceClient.from_connection_string(settings.storage_connection)


@pytest.fixture
def stores(service, table_names):
    ensure_tables(service, table_names)
    return LockStore(service, table_names.locks), AuditStore(service, table_names.audit)


@pytest.fixture
def queue(settings) -> QueueClient:
    client = queue_client(settings)
    ensure_queue(client)
    yield client
    client.delete_queue()


@pytest.fixture
def poison(settings) -> QueueClient:
    client = queue_client(settings, poison_name(settings.queue_name))
    ensure_queue(client)
    yield client
    client.delete_queue()


def worker(stores, reconcile, owner="instance-1", **kw) -> Worker:
    locks, audit = stores
    return Worker(locks=locks, audit=audit, reconcile=reconcile, owner=owner, **kw)


def message(cluster=A, tick="tick0", at=T0, attempt=0) -> str:
    return ClusterMessage(cluster=cluster, tick=tick, tick_time=at, attempt=attempt).to_json()


def system_rows(stores):
    rows, _ = stores[1].query(project=SYSTEM_PROJECT)
    return rows


# -- the message -----------------------------------------------------------------------------------


def test_message_round_trips_through_json_with_its_schema_version():
    original = ClusterMessage(cluster=A, tick="abc123", tick_time=T0, attempt=1)
    data = json.loads(original.to_json())
    assert data == {
        "schema": 1,
        "cluster": A.resource_id,
        "tick": "abc123",
        "tickTime": "2026-11-30T09:00:00Z",
        "attempt": 1,
    }
    assert ClusterMessage.parse(original.to_json()) == original
    assert ClusterMessage.parse(original.to_json().encode()) == original


@pytest.mark.parametrize(
    "body, complaint",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"schema": 2}', "schema 2 is not understood"),
        ('{"cluster": "x"}', "schema None"),
        (
            json.dumps({"schema": 1, "cluster": "/subscriptions/x", "tick": "t", "tickTime": "2026-11-30T09:00:00Z"}),
            "field cluster",
        ),
        (
            json.dumps(
                {"schema": 1, "cluster": A.resource_id, "tick": "t;rm -rf /", "tickTime": "2026-11-30T09:00:00Z"}
            ),
            "field tick",
        ),
        (
            json.dumps({"schema": 1, "cluster": A.resource_id, "tick": "t", "tickTime": "2026-11-30T09:00:00"}),
            "has no time zone",
        ),
        (json.dumps({"schema": 1, "cluster": A.resource_id, "tick": "t", "tickTime": "yesterday"}), "field tickTime"),
        (
            json.dumps(
                {"schema": 1, "cluster": A.resource_id, "tick": "t", "tickTime": "2026-11-30T09:00:00Z", "attempt": 99}
            ),
            "field attempt",
        ),
        (
            json.dumps(
                {
                    "schema": 1,
                    "cluster": A.resource_id,
                    "tick": "t",
                    "tickTime": "2026-11-30T09:00:00Z",
                    "command": "sh",
                }
            ),
            "unknown field(s) command",
        ),
        ("x" * (MAX_BODY + 1), "at most"),
        (b"\xff\xfe", "not UTF-8"),
    ],
)
def test_a_malformed_message_is_refused_naming_what_is_wrong(body, complaint):
    with pytest.raises(BadMessage, match=None) as caught:
        ClusterMessage.parse(body)
    assert complaint in str(caught.value)


# -- the timer side --------------------------------------------------------------------------------


def test_the_timer_sends_one_base64_message_per_cluster_with_the_tick_time(queue, settings):
    assert enqueue_tick(queue, [A, B, C], tick="tick0", tick_time=T0) == 3
    raw = QueueClient.from_connection_string(settings.storage_connection, settings.queue_name)  # no decoding
    bodies = [json.loads(base64.b64decode(m.content)) for m in raw.peek_messages(max_messages=32)]
    assert sorted(b["cluster"] for b in bodies) == sorted(c.resource_id for c in (A, B, C))
    assert {b["tickTime"] for b in bodies} == {"2026-11-30T09:00:00Z"}
    assert {b["tick"] for b in bodies} == {"tick0"}


def test_clusters_of_lists_each_cluster_of_an_enabled_project_once():
    class P:
        def __init__(self, cluster, enabled=True):
            self.cluster, self.enabled = cluster, enabled

    assert clusters_of([P(B), P(A), P(B), P(C, enabled=False)]) == [A, B]


# -- the worker side -------------------------------------------------------------------------------


def test_draining_reconciles_each_cluster_once_with_its_tick(queue, stores):
    enqueue_tick(queue, [A, B, C], tick="tick0", tick_time=T0)
    reconcile = Recorder()
    results = drain(queue, worker(stores, reconcile), clock=lambda: T0 + timedelta(seconds=3))
    assert [r.outcome for r in results] == [Handled.DONE] * 3
    assert sorted(c for c, _, _ in reconcile.calls) == [A, B, C]
    assert {tick for _, _, tick in reconcile.calls} == {"tick0"}
    assert not list(queue.peek_messages())


def test_a_message_delivered_twice_reconciles_once(queue, stores):
    enqueue_tick(queue, [A], tick="tick0", tick_time=T0)
    enqueue_tick(queue, [A], tick="tick0", tick_time=T0)
    reconcile = Recorder()
    results = drain(queue, worker(stores, reconcile), clock=lambda: T0)
    assert [r.outcome for r in results] == [Handled.DONE, Handled.DUPLICATE]
    assert len(reconcile.calls) == 1


def test_an_older_tick_arriving_after_a_newer_one_is_skipped(stores):
    reconcile = Recorder()
    w = worker(stores, reconcile)
    assert w.handle(message(tick="tick1", at=T1), 1, now=T1).outcome is Handled.DONE
    assert w.handle(message(tick="tick0", at=T0), 1, now=T1).outcome is Handled.DUPLICATE
    assert [tick for _, _, tick in reconcile.calls] == ["tick1"]


def test_a_cluster_locked_by_a_live_instance_for_the_same_tick_is_left_to_it(stores):
    locks, _ = stores
    assert locks.acquire(A, owner="instance-2", tick="tick0", tick_time=T0, now=T0).verdict is Verdict.ACQUIRED
    reconcile = Recorder()
    result = worker(stores, reconcile).handle(message(), 1, now=T0 + timedelta(seconds=1))
    assert result.outcome is Handled.BUSY and "instance-2" in result.detail
    assert reconcile.calls == []


def test_a_newer_tick_finding_an_older_one_locked_is_sent_again_with_a_delay(stores, queue):
    locks, _ = stores
    locks.acquire(A, owner="instance-2", tick="tick0", tick_time=T0, now=T0)
    sent = []
    w = worker(stores, Recorder(), requeue=lambda m, delay: sent.append((m, delay)))
    result = w.handle(message(tick="tick1", at=T1), 1, now=T1)
    assert result.outcome is Handled.REQUEUED
    [(again, delay)] = sent
    assert (again.tick, again.attempt, delay > 0) == ("tick1", 1, True)


def test_an_expired_lock_is_taken_over_and_the_cluster_reconciled(stores):
    locks, _ = stores
    locks.acquire(A, owner="dead-instance", tick="tick0", tick_time=T0, now=T0)
    reconcile = Recorder()
    later = T0 + locks.lease + timedelta(seconds=1)
    assert worker(stores, reconcile).handle(message(tick="tick1", at=T1), 1, now=later).outcome is Handled.DONE
    assert len(reconcile.calls) == 1
    assert locks.read(A).owner == ""


def test_a_lock_is_not_taken_over_before_it_expires(stores):
    locks, _ = stores
    locks.acquire(A, owner="slow-instance", tick="tick0", tick_time=T0, now=T0)
    just_before = T0 + locks.lease - timedelta(seconds=1)
    lease = locks.acquire(A, owner="instance-1", tick="tick1", tick_time=T1, now=just_before)
    assert (lease.verdict, lease.holder) == (Verdict.HELD, "slow-instance")


def test_a_holder_whose_lease_was_taken_over_does_not_release_the_new_holders_lock(stores):
    locks, _ = stores
    old = locks.acquire(A, owner="slow-instance", tick="tick0", tick_time=T0, now=T0)
    later = T0 + locks.lease + timedelta(seconds=1)
    new = locks.acquire(A, owner="instance-1", tick="tick1", tick_time=T1, now=later)
    assert new.stolen_from == "slow-instance"
    assert locks.release(old, now=later, done=True) is False
    state = locks.read(A)
    assert (state.owner, state.tick, state.done_tick_time) == ("instance-1", "tick1", None)


def test_two_instances_never_reconcile_one_cluster_at_once(settings, stores, queue):
    for tick in range(6):  # the same cluster, several ticks and copies, all visible at once
        enqueue_tick(queue, [A, B], tick=f"tick{tick % 3}", tick_time=T0 + timedelta(minutes=5 * (tick % 3)))
    reconcile = Recorder(seconds=0.15)
    clock_now = T1 + timedelta(minutes=10)

    def run(owner: str) -> None:
        client = queue_client(settings)
        drain(client, worker(stores, reconcile, owner=owner), clock=lambda: clock_now)

    threads = [threading.Thread(target=run, args=(f"instance-{i}",)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert reconcile.max_running == {A: 1, B: 1}
    assert not list(queue.peek_messages())
    assert stores[0].read(A).owner == "" and stores[0].read(B).owner == ""


# -- failures and poison ---------------------------------------------------------------------------


def test_an_unparseable_message_ends_in_an_audit_row_and_is_dropped(queue, stores):
    queue.send_message("rm -rf / ; not a message")
    reconcile = Recorder()
    [result] = drain(queue, worker(stores, reconcile), clock=lambda: T0)
    assert result.outcome is Handled.POISON
    assert reconcile.calls == []
    [row] = system_rows(stores)
    assert (row.result.value, row.target, row.reason) == ("failed", "cluster", "poison queue message")
    assert "not JSON" in row.error
    assert not list(queue.peek_messages())


def test_a_message_over_the_dequeue_limit_is_audited_without_reconciling(stores):
    reconcile = Recorder()
    result = worker(stores, reconcile, max_dequeue_count=5).handle(message(), 6, now=T0)
    assert result.outcome is Handled.POISON
    assert reconcile.calls == []
    [row] = system_rows(stores)
    assert (row.cluster, row.tick) == (A.resource_id, "tick0")
    assert "delivered 6 times" in row.error


def test_a_failed_reconcile_is_retried_and_frees_the_lock_in_between(queue, stores):
    enqueue_tick(queue, [A], tick="tick0", tick_time=T0)
    reconcile = Recorder(failures=1)
    results = drain(queue, worker(stores, reconcile), clock=lambda: T0)
    assert [r.outcome for r in results] == [Handled.DONE]
    assert len(reconcile.calls) == 2
    assert system_rows(stores) == []
    assert stores[0].read(A).done_tick_time == T0


def test_a_reconcile_failing_every_attempt_is_audited_and_moved_to_the_poison_queue(queue, poison, stores):
    enqueue_tick(queue, [A], tick="tick0", tick_time=T0)
    reconcile = Recorder(failures=99)
    drain(queue, worker(stores, reconcile, max_dequeue_count=3), clock=lambda: T0, poison=poison)
    assert len(reconcile.calls) == 3
    [row] = system_rows(stores)
    assert "last of 3 attempts" in row.error and "cluster API unreachable" in row.error
    [moved] = poison.peek_messages()
    assert ClusterMessage.parse(moved.content).cluster == A
    assert not list(queue.peek_messages())
    state = stores[0].read(A)
    assert (state.owner, state.done_tick_time) == ("", None)  # free, and the tick is not marked done


# -- end to end: the timer fans out, workers reconcile the clusters -----------------------------------------


def test_the_function_app_has_a_queue_trigger_on_the_fan_out_queue_setting():
    from tests.fixtures.function_index import indexed_functions

    function = indexed_functions()["reconcile_cluster"]
    [binding] = [b for b in json.loads(function.get_function_json())["bindings"] if b["type"] == "queueTrigger"]
    assert (binding["queueName"], binding["connection"]) == ("%SCALING_QUEUE_NAME%", "AzureWebJobsStorage")


@pytest.fixture
def fan_world(settings, table_names, emu):
    import dataclasses

    from scaling.model import Access
    from tests.fixtures.fault_world import build_world

    return build_world(dataclasses.replace(settings, fanout="queue"), table_names, emu, private_access=Access.API)


def test_with_fanout_queue_the_timer_only_sends_messages_and_the_workers_reconcile_each_cluster(
    fan_world, queue, settings, table_names
):
    from scaling.reconcile import reconcile_cluster
    from scaling.triggers import run_timer
    from tests.fixtures.fault_world import DOWN, not_down, sizes

    world = fan_world
    originals = sizes(world.emu)
    world.emu.reset_calls()
    assert run_timer(world.context, DOWN, tick_id="fan1", queue=queue) == 2
    assert world.emu.calls() == 0  # the timer itself touched no cluster
    service = TableServiceClient.from_connection_string(settings.storage_connection)
    ticks = []
    w = Worker(
        locks=LockStore(service, table_names.locks),
        audit=world.context.audit,
        owner="instance-1",
        reconcile=lambda cluster, now, tick: ticks.append(reconcile_cluster(cluster, now, world.context, tick_id=tick)),
    )
    results = drain(queue, w, clock=lambda: DOWN + timedelta(seconds=2))
    world.emu.finish_operations()
    assert [r.outcome for r in results] == [Handled.DONE, Handled.DONE]
    assert sorted(report.cluster.name for report in ticks) == ["aks-demo", "aks-private"]
    assert not_down(world.emu, originals) == []
    assert {r.tick for r in world.audit(project="nightly-batch")} == {"fan1"}


def test_in_process_is_the_default_and_ticks_every_cluster_itself(settings, table_names, emu):
    from scaling.model import Access
    from scaling.triggers import run_timer
    from tests.fixtures.fault_world import DOWN, build_world, not_down, sizes

    world = build_world(settings, table_names, emu, private_access=Access.API)
    originals = sizes(emu)
    report = run_timer(world.context, DOWN)
    emu.finish_operations()
    assert sorted(c.cluster.name for c in report.clusters) == ["aks-demo", "aks-private"]
    assert not_down(emu, originals) == []


def test_host_json_queue_settings_match_what_the_worker_assumes():
    from pathlib import Path

    from scaling.fanout import MAX_DEQUEUE_COUNT

    queues = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())["extensions"]["queues"]
    assert queues["maxDequeueCount"] == MAX_DEQUEUE_COUNT  # the worker audits the last attempt
    assert queues["messageEncoding"] == "base64"  # what queue_client's TextBase64EncodePolicy sends
    assert queues["batchSize"] <= 4  # clusters spread over instances instead of piling onto one


def test_with_fanout_queue_the_timer_audits_rows_that_did_not_load(fan_world, queue, table_names):
    from azure.data.tables import UpdateMode

    from scaling.storage.rows import PARTITION
    from scaling.storage.tables import table_service
    from scaling.triggers import run_timer
    from tests.fixtures.fault_world import DOWN

    table = table_service(fan_world.settings).get_table_client(table_names.projects)
    table.upsert_entity(
        {
            "PartitionKey": PARTITION,
            "RowKey": "typo",
            "Cluster": "not-a-resource-id",
            "Namespaces": "typo",
            "Uptime": "always",
        },
        mode=UpdateMode.REPLACE,
    )
    assert run_timer(fan_world.context, DOWN, tick_id="fan2", queue=queue) == 2  # the good projects' clusters
    [row] = [r for r in fan_world.audit(project="typo") if r.target == "row/Cluster"]
    assert row.result.value == "failed" and row.tick == "fan2"
