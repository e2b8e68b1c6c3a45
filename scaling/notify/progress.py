"""How far a wake-up has got (pure): pools starting -> nodes Ready -> workloads Ready, and an ETA from
this project's measured past wake-ups."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scaling.model import NodePoolAction, Project
from scaling.plan.observed import ObservedCluster

STAGES = ("pools starting", "nodes ready", "workloads ready")
DEFAULT_SECONDS = 300.0  # the guess before any wake-up of the project was measured
GPU_DEFAULT_SECONDS = 600.0  # GPU nodes join slower (driver and device plugin)
KEPT_MEASURES = 10


@dataclass(frozen=True)
class PoolProgress:
    name: str
    nodes: int
    state: str  # the ARM provisioning state
    ready: bool


@dataclass(frozen=True)
class Progress:
    stage: str  # one of STAGES, or "ready"
    pools: tuple[PoolProgress, ...]
    workloads_ready: int
    workloads: int
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.stage == "ready"


def progress(project: Project, seen: ObservedCluster) -> Progress:
    """Where the project's wake-up stands as `seen` shows it."""
    if seen.error is not None:
        return Progress(STAGES[0], (), 0, 0, error=seen.error)
    pools = []
    if project.node_pool_action is not NodePoolAction.NONE:
        for name in project.node_pools:
            pool = seen.pool(name)
            if pool is None:
                continue
            nodes = pool.size.count if pool.size.power_state == "Running" else 0
            ready = nodes > 0 and pool.provisioning_state == "Succeeded"
            pools.append(PoolProgress(name, nodes, pool.provisioning_state, ready))
    mine = [w for w in seen.workloads if project.manages(w.ref) and not w.excluded]
    wanted = [w for w in mine if w.replicas > 0]
    ready_count = sum(1 for w in wanted if w.ready_replicas >= w.replicas)
    if not all(p.ready for p in pools):
        stage = STAGES[0] if not any(p.ready for p in pools) else STAGES[1]
    elif not wanted or ready_count < len(wanted):
        stage = STAGES[2]
    else:
        stage = "ready"
    return Progress(stage, tuple(pools), ready_count, len(wanted))


def eta(measured: Sequence[float], started: datetime, now: datetime, *, gpu: bool = False) -> tuple[datetime, bool]:
    """When everything should be Ready: the median of the last measured wake-ups after `started`, or a
    default guess. Returns (time, measured?)."""
    recent = list(measured)[-KEPT_MEASURES:]
    if recent:
        return started + timedelta(seconds=statistics.median(recent)), True
    guess = GPU_DEFAULT_SECONDS if gpu else DEFAULT_SECONDS
    return max(started + timedelta(seconds=guess), now), False
