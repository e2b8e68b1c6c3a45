"""Fan-out over a Storage Queue: the timer sends one message per cluster, a queue trigger reconciles one.

With many clusters one timer invocation must not do all the work (SCALING_FANOUT=queue). The timer
sends `ClusterMessage`s and returns; the Functions host delivers each to the queue trigger on whichever
instance has room, and `Worker.handle` reconciles that cluster under its lock row (scaling/storage/locks.py):

- two instances never reconcile one cluster at once: the lock is held for the whole reconcile;
- a message delivered twice does no harm: a tick whose time is not after the cluster's last completed
  tick is skipped (the lock row keeps `DoneTickTime`), and a copy arriving while the first is being
  handled finds the lock held by the same tick and is dropped;
- a message for a newer tick that finds the lock held by an older one is sent again with a delay
  (at most `MAX_REQUEUES` times), so a slow cluster does not swallow the next tick's transition;
- a poison message (unparseable, or over the dequeue limit) ends in an audit row, never in silence.
  A reconcile that raises is retried by the host (the lock is freed first); on the last attempt the
  failure is audited before the host moves the message to `<queue>-poison`.

Messages are JSON with a schema version, Base64-encoded as the Functions host expects by default
(host.json `extensions.queues.messageEncoding`). `drain` does what the host does, for tests and `serve`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from scaling.logs import log_context, redact
from scaling.names import ClusterId, InvalidName, cluster_id
from scaling.plan.actions import Result
from scaling.settings import Settings
from scaling.storage.audit import AuditRow
from scaling.storage.locks import Lease, LockStore, Verdict

log = logging.getLogger("scaling.fanout")

UTC = UTC
SCHEMA = 1
MAX_BODY = 4096  # a real message is ~250 bytes; anything far larger is not ours
MAX_DEQUEUE_COUNT = 5  # the Functions host default (host.json extensions.queues.maxDequeueCount)
MAX_REQUEUES = 3
REQUEUE_DELAY_S = 30
MESSAGE_TTL_S = 3600  # an hour-old tick has been overtaken by a dozen newer ones
SYSTEM_PROJECT = "aks-hours"  # audit partition of rows that belong to no project (poison messages)
_TICK = re.compile(r"^[A-Za-z0-9-]{1,64}$")
_FIELDS = {"schema", "cluster", "tick", "tickTime", "attempt"}

ReconcileCluster = Callable[[ClusterId, datetime, str], object]
"""Reconcile one cluster: `(cluster, now, tick_id)`; failures it can report it audits itself."""


class BadMessage(ValueError):
    """A queue message that is not a ClusterMessage; the text says what is wrong with it."""


@dataclass(frozen=True)
class ClusterMessage:
    """Reconcile `cluster` for the timer tick `tick` that fired at `tick_time`."""

    cluster: ClusterId
    tick: str
    tick_time: datetime
    attempt: int = 0  # times sent again because an older tick held the lock

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema": SCHEMA,
                "cluster": self.cluster.resource_id,
                "tick": self.tick,
                "tickTime": self.tick_time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                "attempt": self.attempt,
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, body: str | bytes) -> ClusterMessage:
        """Parse strictly; raise BadMessage naming the field that is wrong."""
        if isinstance(body, bytes):
            if len(body) > MAX_BODY:
                raise BadMessage(f"message is {len(body)} bytes; at most {MAX_BODY} expected")
            try:
                body = body.decode("utf-8")
            except UnicodeDecodeError:
                raise BadMessage("message is not UTF-8 text") from None
        if len(body) > MAX_BODY:
            raise BadMessage(f"message is {len(body)} characters; at most {MAX_BODY} expected")
        try:
            data = json.loads(body)
        except ValueError:
            raise BadMessage(f"message is not JSON: {body[:80]!r}") from None
        if not isinstance(data, dict):
            raise BadMessage("message is not a JSON object")
        schema = data.get("schema")
        if schema != SCHEMA:
            raise BadMessage(f"schema {schema!r} is not understood (this version reads schema {SCHEMA})")
        unknown = sorted(set(data) - _FIELDS)
        if unknown:
            raise BadMessage(f"unknown field(s) {', '.join(unknown)} for schema {SCHEMA}")
        try:
            raw_cluster = data.get("cluster")
            if not isinstance(raw_cluster, str):
                raise InvalidName(f"{raw_cluster!r} is not a cluster resource id")
            cluster = cluster_id(raw_cluster)
        except InvalidName as bad:
            raise BadMessage(f"field cluster: {bad}") from None
        tick = data.get("tick")
        if not isinstance(tick, str) or not _TICK.fullmatch(tick):
            raise BadMessage(f"field tick {tick!r} is not a tick id (letters, digits, '-', 1-64)")
        tick_time = _time(data.get("tickTime"))
        attempt = data.get("attempt", 0)
        if isinstance(attempt, bool) or not isinstance(attempt, int) or not 0 <= attempt <= MAX_REQUEUES:
            raise BadMessage(f"field attempt {attempt!r} is not a whole number 0-{MAX_REQUEUES}")
        return cls(cluster=cluster, tick=tick, tick_time=tick_time, attempt=attempt)


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise BadMessage(f"field tickTime {value!r} is not an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadMessage(f"field tickTime {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise BadMessage(f"field tickTime {value!r} has no time zone")
    return parsed.astimezone(UTC)


# -- timer side ----------------------------------------------------------------------------------


def queue_client(settings: Settings, name: str | None = None, credential: TokenCredential | None = None) -> QueueClient:
    """The fan-out queue (or another one, e.g. the poison queue) with Base64 messages, as the host reads."""
    name = name or settings.queue_name
    encode, decode = TextBase64EncodePolicy(), TextBase64DecodePolicy()
    if settings.storage_connection:
        return QueueClient.from_connection_string(
            settings.storage_connection, name, message_encode_policy=encode, message_decode_policy=decode
        )
    if settings.storage_account_url:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential(managed_identity_client_id=settings.managed_identity_client_id)
        account = settings.storage_account_url.replace(".table.", ".queue.")
        return QueueClient(
            account, name, credential=credential, message_encode_policy=encode, message_decode_policy=decode
        )
    from scaling.storage.tables import StorageNotConfigured

    raise StorageNotConfigured("no storage configured for the fan-out queue: set SCALING_STORAGE_CONNECTION")


def poison_name(queue_name: str) -> str:
    """Where the Functions host moves a message after its last failed attempt."""
    return f"{queue_name}-poison"


def ensure_queue(queue: QueueClient) -> None:
    with contextlib.suppress(ResourceExistsError):
        queue.create_queue()


def row_clusters(projects: Iterable[object]) -> list[ClusterId]:
    """The distinct clusters of every project row, enabled or not, sorted: a cluster whose projects are all
    disabled still gets a message, so what they held is released (scaling/plan/release.py)."""
    return sorted({p.cluster for p in projects})  # type: ignore[attr-defined]


def clusters_of(projects: Iterable[object]) -> list[ClusterId]:
    """The distinct clusters of the enabled projects, sorted (one message each)."""
    return sorted({p.cluster for p in projects if getattr(p, "enabled", True)})  # type: ignore[attr-defined]


def enqueue_tick(queue: QueueClient, clusters: Iterable[ClusterId], *, tick: str, tick_time: datetime) -> int:
    """Send one message per cluster for this tick; return how many were sent."""
    if tick_time.tzinfo is None:
        raise ValueError(f"tick_time {tick_time.isoformat()} has no time zone")
    sent = 0
    for cluster in clusters:
        message = ClusterMessage(cluster=cluster, tick=tick, tick_time=tick_time.astimezone(UTC))
        queue.send_message(message.to_json(), time_to_live=MESSAGE_TTL_S)
        sent += 1
    log.info("fanned out tick %s to %d cluster(s)", tick, sent)
    return sent


# -- worker side ---------------------------------------------------------------------------------


class Handled(StrEnum):
    DONE = "done"  # reconciled
    DUPLICATE = "duplicate"  # this tick (or a newer one) was already reconciled for the cluster
    BUSY = "busy"  # a copy of this tick is being reconciled right now
    REQUEUED = "requeued"  # an older tick holds the lock; sent again with a delay
    POISON = "poison"  # unparseable or over the dequeue limit: audited and dropped


@dataclass(frozen=True)
class HandleResult:
    outcome: Handled
    message: ClusterMessage | None = None
    detail: str = ""


def instance_owner() -> str:
    """An id for this worker process: the Functions instance (or host name), the pid and a random part."""
    instance = os.environ.get("WEBSITE_INSTANCE_ID", "")[:16] or socket.gethostname()[:32]
    return f"{instance}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class AuditWriter(Protocol):
    """Where the worker's own audit rows go: the AuditStore, or a buffer in front of it."""

    def write(self, rows: Sequence[AuditRow]) -> object: ...


@dataclass(frozen=True)
class Worker:
    """Handles one queue message at a time; safe to run in many processes at once."""

    locks: LockStore
    audit: AuditWriter
    reconcile: ReconcileCluster
    owner: str
    max_dequeue_count: int = MAX_DEQUEUE_COUNT
    requeue: Callable[[ClusterMessage, int], None] | None = None  # (message, delay seconds)
    # Called with what `reconcile` returned once the lock is released (scaling.followup schedules from it).
    after: Callable[[ClusterMessage, object, datetime], None] | None = None

    def handle(self, body: str | bytes, dequeue_count: int | None, *, now: datetime) -> HandleResult:
        """Handle one delivery. Raises only when the reconcile (or storage) failed and a retry may help."""
        count = dequeue_count or 1
        try:
            message = ClusterMessage.parse(body)
        except BadMessage as bad:
            self._poison(None, now, f"unparseable fan-out message dropped: {bad}")
            return HandleResult(Handled.POISON, None, str(bad))
        with log_context(tick_id=message.tick, cluster=message.cluster.name):
            if count > self.max_dequeue_count:
                detail = f"delivered {count} times (limit {self.max_dequeue_count}); dropped without reconciling"
                self._poison(message, now, detail)
                return HandleResult(Handled.POISON, message, detail)
            return self._reconcile(message, count, now)

    def _reconcile(self, message: ClusterMessage, count: int, now: datetime) -> HandleResult:
        try:
            lease = self.locks.acquire(
                message.cluster, owner=self.owner, tick=message.tick, tick_time=message.tick_time, now=now
            )
        except Exception as exc:  # Table Storage down: the host retries; the last attempt is audited
            if count >= self.max_dequeue_count:
                self._poison(message, now, f"lock not taken on the last of {count} attempts: {exc}")
            raise
        if lease.verdict is Verdict.DONE:
            log.info("tick %s of %s already reconciled; skipped", message.tick, message.cluster.name)
            return HandleResult(Handled.DUPLICATE, message)
        if lease.verdict is Verdict.HELD:
            return self._held(message, lease.holder_tick, lease.holder)
        try:
            result = self.reconcile(message.cluster, now, message.tick)
        except Exception as exc:
            self._release(lease, now, done=False)
            if count >= self.max_dequeue_count:
                self._poison(message, now, f"reconcile failed on the last of {count} attempts: {exc}")
            raise
        self._release(lease, now, done=True)
        if self.after is not None:
            try:
                self.after(message, result, now)
            except Exception:  # the reconcile is done; a hook's failure must not make the host retry it
                log.exception("after-reconcile hook failed for %s", message.cluster.name)
        return HandleResult(Handled.DONE, message)

    def _held(self, message: ClusterMessage, holder_tick: str | None, holder: str | None) -> HandleResult:
        if holder_tick == message.tick:
            return HandleResult(Handled.BUSY, message, f"tick {message.tick} is being reconciled by {holder}")
        if self.requeue is None or message.attempt >= MAX_REQUEUES:
            log.warning(
                "%s is locked by %s (tick %s); tick %s dropped", message.cluster.name, holder, holder_tick, message.tick
            )
            return HandleResult(Handled.BUSY, message, f"locked by {holder} for tick {holder_tick}")
        self.requeue(replace(message, attempt=message.attempt + 1), REQUEUE_DELAY_S)
        return HandleResult(Handled.REQUEUED, message, f"locked by {holder} for tick {holder_tick}")

    def _release(self, lease: Lease, now: datetime, *, done: bool) -> None:
        try:
            self.locks.release(lease, now=now, done=done)
        except Exception:  # storage gone: the lease expires on its own; the original error matters more
            log.exception("could not release the lock of %s", lease.cluster.name)

    def _poison(self, message: ClusterMessage | None, now: datetime, detail: str) -> None:
        log.error("poison fan-out message: %s", redact(detail))
        row = AuditRow(
            time=now.astimezone(UTC),
            project=SYSTEM_PROJECT,
            target="cluster",
            action="reconcile",
            result=Result.FAILED,
            trigger="schedule",
            actor=f"fanout:{self.owner}",
            cluster=message.cluster.resource_id if message else None,
            reason="poison queue message",
            error=redact(detail)[:1000],
            tick=message.tick if message else None,
        )
        self.audit.write([row])


# -- a local stand-in for the Functions queue trigger ----------------------------------------------


def drain(
    queue: QueueClient,
    worker: Worker,
    *,
    clock: Callable[[], datetime],
    poison: QueueClient | None = None,
    visibility_timeout: int = 30,
    max_rounds: int = 100,
) -> list[HandleResult]:
    """Handle messages until the queue has none visible, the way the host does: delete on success; on
    failure make the message visible again at once; after the last attempt move it to the poison queue."""
    results: list[HandleResult] = []
    for _ in range(max_rounds):
        batch = list(queue.receive_messages(max_messages=32, visibility_timeout=visibility_timeout))
        if not batch:
            break
        for received in batch:
            try:
                results.append(worker.handle(received.content, received.dequeue_count, now=clock()))
            except Exception as exc:
                log.warning("fan-out message failed (attempt %s): %s", received.dequeue_count, redact(str(exc)))
                if (received.dequeue_count or 0) >= worker.max_dequeue_count:
                    if poison is not None:
                        poison.send_message(received.content)
                    queue.delete_message(received)
                else:
                    queue.update_message(received, visibility_timeout=0)
                continue
            queue.delete_message(received)
    return results
