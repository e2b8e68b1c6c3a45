"""The nodes of one agent pool over time, and the cluster autoscaler that sizes them (pure, virtual time).

`NodeSet` is what a pool really runs and bills: nodes start and leave through scale operations timed by
`emulator.timing.TimingModel`. `ClusterAutoscaler` drives a NodeSet as AKS's cluster autoscaler does
with the defaults AKS documents (`AutoscalerProfile`; sources in emulator/README.md, "Timing model"):

    every scan-interval (10 s): pods that fit nowhere -> add nodes (up to max), at once
    a Ready node not needed by any pod for scale-down-unneeded-time (10 min) is removed (not below min),
    but not within scale-down-delay-after-add (10 min) of the last scale-up nor
    scale-down-delay-after-delete (one scan) of the last removal; at most max-empty-bulk-delete at once

Use:

    nodes = NodeSet("Standard_NC4as_T4_v3", TimingModel(seed=1))
    ca = ClusterAutoscaler(nodes, min_count=0, max_count=2)
    ca.set_demand(now=0.0, pods=1)       # a GPU pod is pending
    ca.advance(3600.0)                   # scans up to an hour later
    nodes.billed_seconds(0.0, 3600.0)    # node-seconds paid
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from emulator.timing import TimingModel

NEVER = math.inf


@dataclass
class Node:
    """One VM of a pool: started (billed from), Ready, GPU allocatable, removal started, gone (billed until)."""

    started: float
    ready: float
    allocatable: float
    leaving: float | None = None
    gone: float | None = None

    def billed(self, start: float, end: float) -> float:
        """Seconds of this node billed within [start, end]."""
        stop = self.gone if self.gone is not None else end
        return max(0.0, min(stop, end) - max(self.started, start))


@dataclass(frozen=True)
class Operation:
    """One scale operation on a pool: when, how many nodes (positive: added, negative: removed), by whom."""

    at: float
    nodes: int
    by: str


class NodeSet:
    """The nodes of one pool of `vm_size` over time. `nodes` start Ready and allocatable at `now`."""

    def __init__(self, vm_size: str, timing: TimingModel, *, nodes: int = 0, now: float = 0.0) -> None:
        self.vm_size, self.timing = vm_size, timing
        self.history: list[Node] = [Node(now, now, now) for _ in range(nodes)]
        self.operations: list[Operation] = []

    def live(self) -> list[Node]:
        """Nodes started and not being removed, oldest first."""
        return [n for n in self.history if n.leaving is None]

    def count(self) -> int:
        return len(self.live())

    def add(self, now: float, nodes: int, *, by: str = "put") -> list[Node]:
        """Start `nodes` nodes at `now`; returns them (their Ready and allocatable times are drawn)."""
        if nodes <= 0:
            return []
        up = self.timing.scale_up(self.vm_size, nodes)
        added = [Node(now, now + r, now + a) for r, a in zip(up.ready, up.allocatable, strict=True)]
        self.history += added
        self.operations.append(Operation(now, nodes, by))
        return added

    def remove(self, now: float, nodes: int, *, by: str = "put", victims: list[Node] | None = None) -> float:
        """Remove `nodes` nodes at `now` (`victims`, else the newest first, as a scale set scales in);
        returns the seconds until they are gone. Their pods lose them at once."""
        chosen = victims if victims is not None else sorted(self.live(), key=lambda n: n.started)[::-1][:nodes]
        if not chosen:
            return 0.0
        seconds = self.timing.scale_down(self.vm_size, len(chosen))
        for node in chosen:
            node.leaving, node.gone = now, now + seconds
        self.operations.append(Operation(now, -len(chosen), by))
        return seconds

    def resize(self, now: float, count: int, *, by: str = "put") -> None:
        """Bring the live node count to `count` (a pool PUT with a new count, a stop or a start)."""
        have = self.count()
        if count > have:
            self.add(now, count - have, by=by)
        elif count < have:
            self.remove(now, have - count, by=by)

    def ready(self, now: float) -> int:
        return sum(1 for n in self.live() if n.ready <= now)

    def allocatable(self, now: float) -> int:
        """Nodes where a GPU pod can be scheduled at `now`."""
        return sum(1 for n in self.live() if n.allocatable <= now)

    def allocatable_times(self) -> list[float]:
        """When each live node became (or becomes) allocatable, earliest first."""
        return sorted(n.allocatable for n in self.live())

    def billed_seconds(self, start: float, end: float) -> float:
        """Node-seconds billed within [start, end]."""
        return sum(n.billed(start, end) for n in self.history)


@dataclass(frozen=True)
class AutoscalerProfile:
    """AKS's cluster autoscaler profile, in seconds; the defaults are the ones AKS documents."""

    scan_interval: float = 10.0
    scale_down_unneeded_time: float = 600.0
    scale_down_delay_after_add: float = 600.0
    scale_down_delay_after_delete: float = 10.0  # documented default: the scan interval
    max_node_provision_time: float = 900.0
    max_empty_bulk_delete: int = 10


@dataclass
class ClusterAutoscaler:
    """The cluster autoscaler acting on one pool. Demand is in pods; `pods_per_node` of them fit on a node
    (GPU pods asking for the only GPU of an NC4as_T4_v3 or NC24ads_A100_v4: 1).

    Simplifications (emulator/README.md): the delays after add/delete are kept per pool (AKS keeps them per
    cluster, which only delays scale-down more); a node counts as unneeded from when it is Ready and no pod
    needs it; empty nodes only (no pod is moved elsewhere); nodes always come within max-node-provision-time."""

    nodes: NodeSet
    min_count: int
    max_count: int
    profile: AutoscalerProfile = field(default_factory=AutoscalerProfile)
    pods_per_node: int = 1
    now: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_count <= self.max_count:
            raise ValueError(f"need 0 <= min_count <= max_count, got {self.min_count}, {self.max_count}")
        self.pods = 0
        self._last_add = self._last_delete = -NEVER
        self._unneeded: dict[int, float] = {}  # id(node) -> since when it is unneeded
        self._next_scan = self.now

    def set_demand(self, now: float, pods: int) -> None:
        """From `now` on, `pods` pods want to run on this pool (scans up to `now` see the old demand)."""
        self.advance(now)
        self.pods = pods
        self._next_scan = min(self._next_scan, self._on_grid(now))

    def advance(self, until: float) -> None:
        """Run every scan up to `until` (inclusive), skipping the scans at which nothing can change."""
        while self._next_scan <= until:
            at = self._next_scan
            self._scan(at)
            self._next_scan = self._on_grid(max(self._next_event(at), at + self.profile.scan_interval))
        self.now = max(self.now, until)

    def _on_grid(self, t: float) -> float:
        """The first scan at or after `t` (scans run every scan_interval from time 0)."""
        if t == NEVER:
            return NEVER
        step = self.profile.scan_interval
        return math.ceil(round(t / step, 9)) * step

    def _needed(self) -> int:
        return max(self.min_count, math.ceil(self.pods / self.pods_per_node))

    def _scan(self, at: float) -> None:
        live = self.nodes.live()
        needed = min(self._needed(), self.max_count)
        if needed > len(live):
            self.nodes.add(at, needed - len(live), by="autoscaler")
            self._last_add = at
            self._unneeded.clear()
            return
        excess = [n for n in live[needed:] if n.ready <= at]
        excess_ids = {id(n) for n in excess}
        self._unneeded = {k: v for k, v in self._unneeded.items() if k in excess_ids}
        for node in excess:
            self._unneeded.setdefault(id(node), at)
        if at < self._last_add + self.profile.scale_down_delay_after_add:
            return
        if at < self._last_delete + self.profile.scale_down_delay_after_delete:
            return
        due = [n for n in excess if at - self._unneeded[id(n)] >= self.profile.scale_down_unneeded_time]
        room = len(live) - self.min_count
        victims = due[: max(0, min(room, self.profile.max_empty_bulk_delete))]
        if victims:
            self.nodes.remove(at, len(victims), by="autoscaler", victims=victims)
            self._last_delete = at
            for node in victims:
                self._unneeded.pop(id(node), None)

    def _next_event(self, at: float) -> float:
        """The earliest time after `at` at which a scan could decide something new."""
        live = self.nodes.live()
        needed = min(self._needed(), self.max_count)
        if needed > len(live):
            return at  # pending pods (only when max was reached and then raised; otherwise added at once)
        candidates = [n.ready for n in live[needed:] if n.ready > at]  # becomes unneeded once Ready
        delays = max(
            self._last_add + self.profile.scale_down_delay_after_add,
            self._last_delete + self.profile.scale_down_delay_after_delete,
        )
        if self._unneeded and len(live) > self.min_count:
            candidates.append(max(min(self._unneeded.values()) + self.profile.scale_down_unneeded_time, delays))
        return min(candidates, default=NEVER)
