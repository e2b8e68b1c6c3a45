"""One lock row per cluster in Table `Locks`: who reconciles it now, until when, and the last tick done.

Two queue-triggered instances must never reconcile the same cluster at once, and a message delivered
twice must do no harm. Both are decided on one row per cluster, written only with ETag conditions:

    PartitionKey  "cluster"
    RowKey        "<subscription>~<resource group>~<cluster>" (lower case: ARM names ignore case)
    Owner         the instance holding the lock ("" when free)
    Expires       when the holder's lease ends (UTC); only after it may another instance take it
    Tick          tick id being or last reconciled
    DoneTickTime  the tick time of the last completed reconcile; a message of that tick or an older one
                  is a duplicate (or overtaken) and is skipped

Acquire reads the row and then creates it (a race shows as "already exists") or replaces it with
`If-Match` on the ETag read (a race shows as "modified"); whoever loses the race sees the lock held.
Release writes with the ETag of its own acquire, so an instance whose lease expired and was taken over
cannot clear the new holder's lock or move `DoneTickTime`.

The lease is longer than the Functions timeout (host.json `functionTimeout`, 10 minutes): the host has
killed a holder before its lease ends, so a lock taken over after expiry never has a live holder. Clocks
of instances differ by seconds, not minutes; the margin covers that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from scaling.names import ClusterId

log = logging.getLogger("scaling.storage.locks")

UTC = UTC
PARTITION = "cluster"
DEFAULT_LEASE = timedelta(minutes=11)  # functionTimeout (10 min) + margin for clock skew
FREE = ""


def lock_key(cluster: ClusterId) -> str:
    """The RowKey of a cluster's lock; ClusterId parts are validated names without '/', '#', '?' or '\\'."""
    return f"{cluster.subscription}~{cluster.resource_group}~{cluster.name}".lower()


class Verdict(StrEnum):
    ACQUIRED = "acquired"
    HELD = "held"  # another live instance reconciles this cluster now
    DONE = "done"  # this tick (or a newer one) was already reconciled


@dataclass(frozen=True)
class LockState:
    """A lock row as read."""

    owner: str
    expires: datetime | None
    tick: str | None
    done_tick_time: datetime | None
    etag: str


@dataclass(frozen=True)
class Lease:
    """What acquire returned. `etag` is the row's ETag after our write (None unless acquired)."""

    verdict: Verdict
    cluster: ClusterId
    owner: str
    tick: str
    tick_time: datetime
    etag: str | None = None
    holder: str | None = None  # who holds it when HELD
    holder_tick: str | None = None  # the tick the holder is reconciling
    stolen_from: str | None = None  # whose expired lease we took over


class LockStore:
    """Acquire and release cluster locks in one table (it must exist: scaling.storage.tables.ensure_tables)."""

    def __init__(self, service: TableServiceClient, table: str = "Locks", *, lease: timedelta = DEFAULT_LEASE):
        self._table = service.get_table_client(table)
        self.lease = lease

    def read(self, cluster: ClusterId) -> LockState | None:
        try:
            entity = self._table.get_entity(PARTITION, lock_key(cluster))
        except ResourceNotFoundError:
            return None
        return LockState(
            owner=str(entity.get("Owner") or FREE),
            expires=_utc(entity.get("Expires")),
            tick=entity.get("Tick"),
            done_tick_time=_utc(entity.get("DoneTickTime")),
            etag=str(entity.metadata["etag"]),
        )

    def acquire(self, cluster: ClusterId, *, owner: str, tick: str, tick_time: datetime, now: datetime) -> Lease:
        """Take the lock for `tick` unless it is held by a live lease or the tick is already done."""
        _aware(now, "now")
        _aware(tick_time, "tick_time")
        lease = Lease(Verdict.ACQUIRED, cluster, owner, tick, tick_time)
        state = self.read(cluster)
        if state is not None and state.done_tick_time is not None and tick_time <= state.done_tick_time:
            return _replace(lease, verdict=Verdict.DONE)
        held = state is not None and state.owner != FREE and state.expires is not None and state.expires > now
        if held and state is not None and state.owner != owner:
            return _replace(lease, verdict=Verdict.HELD, holder=state.owner, holder_tick=state.tick)
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": lock_key(cluster),
            "Owner": owner,
            "Expires": now + self.lease,
            "Acquired": now,
            "Tick": tick,
            "TickTime": tick_time,
            "Cluster": cluster.resource_id,
        }
        if state is not None and state.done_tick_time is not None:
            entity["DoneTickTime"] = state.done_tick_time
        try:
            if state is None:
                metadata = self._table.create_entity(entity)
            else:
                metadata = self._table.update_entity(
                    entity, mode=UpdateMode.REPLACE, etag=state.etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            # Another instance wrote the row between our read and our write: it won.
            winner = self.read(cluster)
            return _replace(
                lease,
                verdict=Verdict.HELD,
                holder=winner.owner if winner else None,
                holder_tick=winner.tick if winner else None,
            )
        stolen = state.owner if state is not None and state.owner not in (FREE, owner) else None
        if stolen and state is not None:
            log.warning("took over the expired lock of %s on %s (expired %s)", stolen, cluster.name, state.expires)
        return _replace(lease, etag=metadata["etag"], stolen_from=stolen)

    def release(self, lease: Lease, *, now: datetime, done: bool) -> bool:
        """Free the lock; with `done`, record the tick time as reconciled. False when the lease was taken
        over meanwhile (we ran past its expiry): the row is then left to the new holder."""
        if lease.verdict is not Verdict.ACQUIRED or lease.etag is None:
            raise ValueError("release needs a lease that was acquired")
        state = self.read(lease.cluster)
        if state is None or state.etag != lease.etag:
            log.warning("lock of %s was taken over before release; leaving it", lease.cluster.name)
            return False
        done_time = state.done_tick_time
        if done and (done_time is None or lease.tick_time > done_time):
            done_time = lease.tick_time
        entity = {
            "PartitionKey": PARTITION,
            "RowKey": lock_key(lease.cluster),
            "Owner": FREE,
            "Expires": now,
            "Released": now,
            "Tick": lease.tick,
            "TickTime": lease.tick_time,
            "Cluster": lease.cluster.resource_id,
        }
        if done_time is not None:
            entity["DoneTickTime"] = done_time
        try:
            self._table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=lease.etag, match_condition=MatchConditions.IfNotModified
            )
        except (ResourceModifiedError, ResourceNotFoundError):
            log.warning("lock of %s changed during release; leaving it", lease.cluster.name)
            return False
        return True


def _replace(lease: Lease, **changes: Any) -> Lease:
    return replace(lease, **changes)


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} {value.isoformat()} has no time zone")


def _utc(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
