"""Follow-through: after a reconcile that leaves work in flight, come back to that cluster within seconds.

A tick or an API call may start something it cannot finish: a node pool operation (ARM answers at once
and works for minutes), a write held back as BUSY (a pool still busy with the previous operation, a 409,
a phase whose predecessor did not get through). Without a follow-up, the next timer tick (up to five
minutes later) continues; with one, the app reconciles that cluster again after `SCALING_FOLLOW_UP_SECONDS`
(20 s) and keeps doing so until a reconcile leaves nothing in flight, or `MAX_ROUNDS` follow-ups in a row
did not settle it (a pool stuck for a quarter of an hour is the ticks' business again).

- One follow-up per cluster at a time: a cluster that already has one pending gets no second.
- A follow-up is a reconcile of that cluster like any other: the same plan, the same lock, audit rows
  under its own tick id (`followup-<round>-<random>`), which ties them together.
- In Azure (`QueueFollowUps`): a message on the fan-out queue that becomes visible after the delay
  (Storage Queue visibility timeout), handled by the queue trigger's worker under the cluster's lock
  row (scaling/fanout.py). The pending follow-up is a row in the Locks table (PartitionKey `followup`),
  claimed with an ETag condition, so instances agree on "one at a time" without touching the lock row.
- In `serve` (`LocalFollowUps`): an in-process timer per cluster.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import UpdateMode

from scaling.fanout import MESSAGE_TTL_S, ClusterMessage
from scaling.logs import redact
from scaling.names import ClusterId
from scaling.plan.actions import Outcome, PoolChange, Result
from scaling.storage.locks import lock_key

log = logging.getLogger("scaling.followup")

UTC = UTC
MAX_ROUNDS = 45  # 45 x 20 s = 15 minutes: longer than any pool operation the docs describe
FOLLOW_UP_PARTITION = "followup"
_ROUND = re.compile(r"^followup-(\d{1,3})-[0-9a-f]{8}$")


def in_flight(outcomes: Sequence[Outcome]) -> str | None:
    """Why the cluster is not settled after these outcomes (the first cause), or None when it is."""
    for outcome in outcomes:
        if outcome.result is Result.BUSY:
            return f"{outcome.action.target} busy"
        if isinstance(outcome.action, PoolChange) and outcome.result is Result.OK:
            return f"{outcome.action.target} operation started"
    return None


def follow_up_tick(round_: int) -> str:
    """The tick id of follow-up number `round_` (1 is the first after the reconcile that left work)."""
    return f"followup-{round_}-{uuid.uuid4().hex[:8]}"


def round_of(tick: str | None) -> int:
    """Which follow-up a tick id is (0: a timer tick or an API call)."""
    match = _ROUND.fullmatch(tick or "")
    return int(match.group(1)) if match else 0


class FollowUps(Protocol):
    def after(self, cluster: ClusterId, outcomes: Sequence[Outcome], now: datetime, *, tick: str | None = None) -> bool:
        """Schedule a follow-up of `cluster` if `outcomes` left work in flight; True when one was scheduled.
        `tick`: the id of the reconcile that produced them (a follow-up's counts the rounds)."""


def note(
    context: Any, cluster: ClusterId, outcomes: Sequence[Outcome], now: datetime, *, tick: str | None = None
) -> None:
    """Tell the context's follow-ups (when it has any) what a reconcile left; never raises."""
    followups = getattr(context, "followups", None)
    if followups is None:
        return
    try:
        followups.after(cluster, outcomes, now, tick=tick)
    except Exception as exc:  # the ticks still come; a lost follow-up only costs minutes
        log.warning("follow-up of %s not scheduled: %s", cluster.name, redact(str(exc)))


def _next_round(cluster: ClusterId, outcomes: Sequence[Outcome], tick: str | None) -> tuple[str, int] | None:
    cause = in_flight(outcomes)
    if cause is None:
        return None
    round_ = round_of(tick) + 1
    if round_ > MAX_ROUNDS:
        log.warning(
            "%s not settled after %d follow-ups (%s); the timer ticks carry on", cluster.name, MAX_ROUNDS, cause
        )
        return None
    return cause, round_


# -- serve: an in-process timer per cluster -----------------------------------------------------------------


RunCluster = Callable[[ClusterId, datetime, str], Any]
"""Reconcile one cluster `(cluster, now, tick_id)` and return its ClusterReport (or anything with outcomes)."""


class LocalFollowUps:
    """Follow-ups in this process: a daemon timer per cluster, at most one pending per cluster."""

    def __init__(
        self, run: RunCluster, *, delay: float, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.run = run
        self.delay = delay
        self.clock = clock
        self.fired = 0
        self._pending: dict[ClusterId, threading.Timer] = {}
        self._lock = threading.Lock()
        self._stopped = False

    def after(self, cluster: ClusterId, outcomes: Sequence[Outcome], now: datetime, *, tick: str | None = None) -> bool:
        found = _next_round(cluster, outcomes, tick)
        if found is None or self.delay <= 0:
            return False
        cause, round_ = found
        with self._lock:
            if self._stopped or cluster in self._pending:
                return False
            timer = threading.Timer(self.delay, self._fire, (cluster, round_))
            timer.daemon = True
            self._pending[cluster] = timer
            timer.start()
        log.info("follow-up %d of %s in %ss: %s", round_, cluster.name, self.delay, cause)
        return True

    def pending(self) -> list[ClusterId]:
        with self._lock:
            return sorted(self._pending)

    def _fire(self, cluster: ClusterId, round_: int) -> None:
        with self._lock:
            self._pending.pop(cluster, None)
            if self._stopped:
                return
        tick = follow_up_tick(round_)
        now = self.clock()
        try:
            report = self.run(cluster, now, tick)
        except Exception:  # a failed reconcile is logged and audited by the engine; the ticks carry on
            log.exception("follow-up %d of %s failed", round_, cluster.name)
            return
        finally:
            self.fired += 1
        self.after(cluster, tuple(getattr(report, "outcomes", ())), now, tick=tick)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            timers, self._pending = list(self._pending.values()), {}
        for timer in timers:
            timer.cancel()


# -- Azure: a delayed message on the fan-out queue ------------------------------------------------------------


class QueueFollowUps:
    """Follow-ups as fan-out messages that become visible after the delay; one pending per cluster, agreed
    on through a `followup` row per cluster in the Locks table (written only with ETag conditions)."""

    def __init__(self, queue: Any, table: Any, *, delay: int) -> None:
        self.queue = queue  # azure.storage.queue.QueueClient of the fan-out queue (Base64, as the host reads)
        self.table = table  # azure.data.tables.TableClient of the Locks table
        self.delay = delay

    def after(self, cluster: ClusterId, outcomes: Sequence[Outcome], now: datetime, *, tick: str | None = None) -> bool:
        found = _next_round(cluster, outcomes, tick)
        if found is None or self.delay <= 0:
            return False
        cause, round_ = found
        due = now.astimezone(UTC) + timedelta(seconds=self.delay)
        if not self.claim(cluster, due=due, now=now):
            return False
        message = ClusterMessage(cluster=cluster, tick=follow_up_tick(round_), tick_time=due)
        self.queue.send_message(message.to_json(), visibility_timeout=self.delay, time_to_live=MESSAGE_TTL_S)
        log.info("follow-up %d of %s queued for %s: %s", round_, cluster.name, due.isoformat(), cause)
        return True

    def claim(self, cluster: ClusterId, *, due: datetime, now: datetime) -> bool:
        """Record `due` as the cluster's pending follow-up unless one is pending already (due after now)."""
        key = lock_key(cluster)
        for _ in range(3):
            try:
                row = self.table.get_entity(FOLLOW_UP_PARTITION, key)
            except ResourceNotFoundError:
                row = None
            pending = row.get("Due") if row is not None else None
            if isinstance(pending, datetime) and pending.astimezone(UTC) > now.astimezone(UTC):
                return False
            entity = {"PartitionKey": FOLLOW_UP_PARTITION, "RowKey": key, "Due": due, "Cluster": cluster.resource_id}
            try:
                if row is None:
                    self.table.create_entity(entity)
                else:
                    self.table.update_entity(
                        entity,
                        mode=UpdateMode.REPLACE,
                        etag=row.metadata["etag"],
                        match_condition=MatchConditions.IfNotModified,
                    )
                return True
            except (ResourceExistsError, ResourceModifiedError):
                continue  # another instance wrote it meanwhile: read again and decide again
        return False
