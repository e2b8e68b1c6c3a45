"""The emulator's whole state: a virtual clock, clusters with their pools and objects, and pool operations.

One re-entrant lock guards everything; servers and the Python API take it for each request/read.
Time-driven changes (operations finishing, pods becoming ready) are applied by `settle()`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from emulator import controllers, kinds, manifests
from emulator.config import ClusterConfig, Config, Delays
from emulator.pools import Pool
from emulator.store import Store

_CLOCK_BASE = 1_000_000.0  # so "available since time 0" is always long ago


class Clock:
    """Monotonic seconds plus an offset that tests can advance; wall time moves with it."""

    def __init__(self) -> None:
        self._start = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return time.monotonic() - self._start + _CLOCK_BASE + self._offset

    def wall(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self._offset)

    def wall_text(self) -> str:
        return self.wall().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds


@dataclass
class Operation:
    """An ARM async operation: which pool it changes; its status is read from the pool."""

    id: str
    cluster: str
    pool: str
    start_wall: str
    end_wall: str | None = None
    status: str = "InProgress"
    error: tuple[str, str] | None = None  # (code, message) of a Failed operation


class Cluster:
    """One managed cluster: its config, agent pools and Kubernetes objects."""

    def __init__(self, config: ClusterConfig, clock: Clock, subscription: str, resource_group: str) -> None:
        self.config = config
        self.name = config.name
        self.id = (
            f"/subscriptions/{subscription}/resourceGroups/{resource_group}"
            f"/providers/Microsoft.ContainerService/managedClusters/{config.name}"
        )
        self.pools: dict[str, Pool] = {p.name: Pool.from_config(p) for p in config.pools}
        self.store = Store(clock.now, clock.wall)
        self.kinds = tuple(k for k in kinds.ALL if config.keda or not k.keda_only)
        for ns in config.namespaces:
            self.store.create(kinds.NAMESPACES, "", manifests.namespace(ns.name, ns.labels, ns.annotations))
            for plural, obj in ns.objects:
                self.store.create(kinds.BY_PLURAL[plural], ns.name, obj)
        for kind in kinds.WORKLOADS:
            for _, entry in self.store.entries(kind):
                entry.replicas_at = entry.changed_at = 0.0  # configured pods have long been running
        for kind in (kinds.HPAS, kinds.SCALED_OBJECTS):
            for _, entry in self.store.entries(kind):
                entry.changed_at = 0.0

    def serves(self, kind: kinds.Kind) -> bool:
        return kind in self.kinds

    def available_since(self, pool: str | None) -> float | None:
        if pool is None or pool not in self.pools:
            return 0.0  # not pinned: runs on whatever pool has room (the system pool always has nodes)
        found = self.pools[pool]
        return found.nodes_since if found.nodes > 0 else None

    def system_pools(self, *, besides: str) -> int:
        return sum(1 for p in self.pools.values() if p.mode == "System" and p.name != besides)


class State:
    """Everything the servers serve. Build it from a Config; `reset()` goes back to it."""

    def __init__(self, config: Config, delays: Delays | None = None) -> None:
        self.lock = threading.RLock()
        self.config = config
        self.initial_delays = delays or config.delays
        self.clock = Clock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.delays = self.initial_delays
            self.clock = Clock()
            self.clusters = {
                c.name: Cluster(c, self.clock, self.config.subscription, self.config.resource_group)
                for c in self.config.clusters
            }
            self.operations: dict[str, Operation] = {}
            self.settle()

    def set_delays(self, **changes: float) -> Delays:
        with self.lock:
            self.delays = replace(self.delays, **{k: float(v) for k, v in changes.items()})
            return self.delays

    def cluster(self, name: str) -> Cluster:
        found = self.clusters.get(name)
        if found is None:
            raise KeyError(f"no emulated cluster {name!r} (clusters: {', '.join(sorted(self.clusters))})")
        return found

    def settle(self, only: str | None = None) -> None:
        """Apply everything whose time has come, in causal order: pools, then controllers. `only`: just
        that cluster (clusters do not affect each other; at thousands of objects a cluster, settling every
        cluster on each request would cost more than the request)."""
        with self.lock:
            now = self.clock.now()
            clusters = [self.clusters[only]] if only in self.clusters else self.clusters.values()
            for cluster in clusters:
                for pool in cluster.pools.values():
                    pending = pool.pending
                    pool.settle(now)
                    if pending is not None and pool.pending is None:
                        operation = self.operations.get(pending.id)
                        if operation is not None:
                            operation.status = "Failed" if pending.error else "Succeeded"
                            operation.error = pending.error
                            operation.end_wall = self.clock.wall_text()
                controllers.settle(cluster.store, now, self.delays, cluster.available_since)

    def advance(self, seconds: float) -> None:
        with self.lock:
            self.clock.advance(seconds)
            self.settle()

    def finish_operations(self) -> None:
        """Move the clock far enough that every pending operation, readiness and controller step is done."""
        d = self.delays
        self.advance(2 * (d.pool_operation + d.ready + d.hpa_sync + d.run_command) + 0.001)
