"""What the Functions triggers (and `serve`'s timer) run: a tick in-process or fanned out over the queue,
one queue message, and audit rows kept in memory while Table Storage is down.

`SCALING_FANOUT=in-process` (small installs): the timer runs `reconcile.tick`, every cluster in parallel.
`SCALING_FANOUT=queue`: the timer loads the projects and sends one message per cluster
(scaling/fanout.py); the queue trigger reconciles that cluster under its lock.

Table Storage down: a tick cannot load projects, so it changes nothing and fails; a tick that loses
storage half-way keeps its changes (originals are on the objects) but cannot write their audit rows.
Either way the rows (including one saying the tick failed) stay in this process's `AuditBuffer` and are
written by the first tick that finds storage again. Rows are upserts with fixed keys, so writing a batch
twice is harmless. A process that dies meanwhile loses those rows, never an original size.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from scaling import followup
from scaling.fanout import (
    SYSTEM_PROJECT,
    Worker,
    enqueue_tick,
    ensure_queue,
    instance_owner,
    queue_client,
    row_clusters,
)
from scaling.logs import new_tick_id, redact
from scaling.plan.actions import Result
from scaling.storage.audit import AuditRow, AuditStore
from scaling.storage.locks import LockStore
from scaling.storage.tables import TableNames, table_service

log = logging.getLogger("scaling.triggers")

UTC = UTC
MAX_PENDING = 20_000  # about 4 MB of rows; beyond that the oldest are dropped (and the drop is logged)


class AuditBuffer:
    """An AuditStore that keeps the rows it could not write and sends them with the next write."""

    def __init__(self, store: AuditStore, *, limit: int = MAX_PENDING) -> None:
        self.store = store
        self.limit = limit
        self._pending: list[AuditRow] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:  # query() and anything else: the store's own
        return getattr(self.store, name)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def keep(self, rows: Sequence[AuditRow]) -> None:
        """Hold `rows` for the next write without trying now."""
        with self._lock:
            self._pending.extend(rows)
            overflow = len(self._pending) - self.limit
            if overflow > 0:
                del self._pending[:overflow]
                log.error("audit buffer full: %d oldest unwritten rows dropped", overflow)

    def write(self, rows: Sequence[AuditRow]) -> int:
        with self._lock:
            batch, self._pending = self._pending + list(rows), []
        if not batch:
            return 0
        try:
            return self.store.write(batch)
        except Exception:
            self.keep(batch)
            raise

    def flush(self) -> int:
        """Write what is pending; return the calls made (0 when nothing was pending). Raises if storage is down."""
        return self.write([])


def buffered(context: Any) -> AuditBuffer:
    """The context's audit store, wrapped in an AuditBuffer once (the context lives for the process)."""
    if not isinstance(context.audit, AuditBuffer):
        context.audit = AuditBuffer(context.audit)
    return context.audit


def failed_tick_row(now: datetime, tick_id: str, error: BaseException) -> AuditRow:
    return AuditRow(
        time=now.astimezone(UTC),
        project=SYSTEM_PROJECT,
        target="tick",
        action="reconcile",
        result=Result.FAILED,
        actor="timer",
        reason="tick failed; the next tick retries",
        error=redact(f"{type(error).__name__}: {error}")[:1000],
        tick=tick_id,
    )


def run_timer(context: Any, now: datetime, *, tick_id: str | None = None, queue: Any = None) -> Any:
    """One timer firing: flush audit rows left by earlier ticks, then tick in-process or fan out.
    Returns the TickReport (in-process) or the number of messages sent (queue)."""
    from scaling import reconcile

    tick_id = tick_id or new_tick_id()
    audit = buffered(context)
    if audit.pending:
        try:
            audit.flush()
            log.info("wrote audit rows kept from earlier ticks")
        except Exception as exc:  # still down: the tick below will tell
            log.warning("Table Storage still unavailable for %d kept audit rows: %s", audit.pending, redact(str(exc)))
    try:
        if context.settings.fanout == "queue":
            loaded = context.projects.load()
            reconcile.report_bad_rows(loaded.errors, now, context, tick_id)
            queue = queue or queue_client(context.settings)
            ensure_queue(queue)
            result: Any = enqueue_tick(queue, row_clusters(loaded.projects), tick=tick_id, tick_time=now)
        else:
            result = reconcile.tick(now, context=context, tick_id=tick_id)
            for cluster in result.clusters:
                followup.note(context, cluster.cluster, cluster.outcomes, now, tick=tick_id)
    except Exception as exc:
        audit.keep([failed_tick_row(now, tick_id, exc)])
        raise
    notify_after_tick(context, now, tick_id)
    return result


def notify_after_tick(context: Any, now: datetime, tick_id: str) -> None:
    """Heads-ups due at `now`, once the tick's scaling writes are done (or its messages are queued): a slow
    or dead webhook never holds a write back. Never raises."""
    from scaling.notifying import notify_tick

    notify_tick(context, now, tick_id=tick_id)


_workers: dict[int, Worker] = {}
_workers_lock = threading.Lock()


def worker_for(context: Any, *, table_names: TableNames | None = None) -> Worker:
    """The queue worker of this process over `context` (built once: its clients are reused)."""
    from scaling import reconcile

    with _workers_lock:
        worker = _workers.get(id(context))
        if worker is None:
            names = table_names or TableNames()
            locks = LockStore(table_service(context.settings), names.locks)
            requeue_queue = queue_client(context.settings)

            def requeue(message, delay: int) -> None:
                requeue_queue.send_message(message.to_json(), visibility_timeout=delay)

            def reconcile_one(cluster, now, tick) -> object:
                return reconcile.reconcile_cluster(cluster, now, context, tick_id=tick)

            def after(message, report, now) -> None:
                followup.note(context, message.cluster, getattr(report, "outcomes", ()), now, tick=message.tick)

            worker = Worker(
                locks=locks,
                audit=buffered(context),
                reconcile=reconcile_one,
                owner=instance_owner(),
                requeue=requeue,
                after=after,
            )
            _workers[id(context)] = worker
        return worker


def queue_follow_ups(context: Any, *, table_names: TableNames | None = None) -> followup.QueueFollowUps | None:
    """Azure's follow-ups (scaling/followup.py): delayed messages on the fan-out queue, one pending per
    cluster recorded in the Locks table; None when SCALING_FOLLOW_UP_SECONDS is 0."""
    delay = context.settings.follow_up_seconds
    if delay <= 0:
        return None
    names = table_names or TableNames()
    queue = queue_client(context.settings)
    try:
        ensure_queue(queue)
    except Exception as exc:  # the queue is usually there (infra creates it); sends will tell if it is not
        log.warning("fan-out queue not checked for follow-ups: %s", redact(str(exc)))
    table = table_service(context.settings).get_table_client(names.locks)
    return followup.QueueFollowUps(queue, table, delay=delay)


def run_queue_message(context: Any, body: str | bytes, dequeue_count: int | None, now: datetime) -> Any:
    """One delivery of the queue trigger."""
    return worker_for(context).handle(body, dequeue_count, now=now)
