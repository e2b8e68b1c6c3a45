"""Which messages are due at `now` (pure): a heads-up before each scheduled down transition, and the
optional note after it, plus what goes down and what that saves.

The down transition is the project's *effective* one: the schedule's next change from up to down, or
the end of an active keep-up override when the schedule is down by then. So a new override moves the
pending heads-up (keep up 1 h: a new heads-up before the new time) or cancels it (down now: nothing is
left to announce). Every message is keyed by (project, kind, transition): the store sends each key once
per channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from scaling.model import NodePoolAction, Project
from scaling.names import ClusterId
from scaling.override import Override, OverrideAction
from scaling.plan.observed import ObservedCluster

AFTER_WINDOW = timedelta(minutes=30)  # the after-note goes out on a tick within this of the transition
GPU_SIZE = re.compile(r"(?i)^standard_n[a-z]*\d")  # Azure N-series: NC, ND, NV, NG (GPU families)


class MessageKind(StrEnum):
    HEADS_UP = "heads-up"
    AFTER = "after"


@dataclass(frozen=True)
class Due:
    """One message to send for `project` about its down transition at `transition` (UTC)."""

    project: Project
    kind: MessageKind
    transition: datetime

    @property
    def key(self) -> str:
        """The message's RowKey part: kind and transition minute, stable across ticks and instances."""
        return f"{self.kind.value}-{self.transition.astimezone(UTC):%Y%m%dT%H%MZ}"


@dataclass(frozen=True)
class PoolLine:
    name: str
    vm_size: str | None
    nodes: int
    gpu: bool
    hourly: float | None  # price of one node-hour, None when the size is not priced


@dataclass(frozen=True)
class Summary:
    """What goes down: running workloads, the pools with their nodes, and the hourly saving."""

    workloads: int
    pools: tuple[PoolLine, ...] = ()
    observed: bool = True  # False: the cluster could not be looked at; counts are unknown

    @property
    def saves_per_hour(self) -> float:
        return round(sum(p.nodes * (p.hourly or 0.0) for p in self.pools), 2)

    @property
    def gpu_pools(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.pools if p.gpu)


def project_override(project: Project, overrides: Sequence[Override], now: datetime) -> Override | None:
    """The newest active project-wide override of `project`."""
    mine = [o for o in overrides if o.project == project.name and o.target is None and o.active(now)]
    return max(mine, key=lambda o: o.created) if mine else None


def next_down(project: Project, override: Override | None, now: datetime) -> datetime | None:
    """When the project goes down next without anyone acting (UTC); None when it is down (or held down)
    now, or never goes down."""
    schedule = project.schedule
    if override is not None:
        if override.action is OverrideAction.DOWN:
            return None
        if override.action is OverrideAction.UP:
            end = override.until
            return end if not schedule.is_up(end) else _utc(schedule.next_change(end))
    if not schedule.is_up(now):
        return None
    return _utc(schedule.next_change(now))


def due_messages(projects: Sequence[Project], overrides: Sequence[Override], now: datetime) -> list[Due]:
    """Every message due at `now` for the projects that notify (enabled ones only)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC)
    due: list[Due] = []
    for project in projects:
        if not project.enabled or not project.notify:
            continue
        override = project_override(project, overrides, now)
        down = next_down(project, override, now)
        if down is not None and down - timedelta(minutes=project.notify_minutes) <= now < down:
            due.append(Due(project, MessageKind.HEADS_UP, down))
        if project.notify_after and override is None:
            went = [at for at, up in project.schedule.transitions(now - AFTER_WINDOW, now) if not up]
            if went and went[-1] <= now and not project.schedule.is_up(now):
                due.append(Due(project, MessageKind.AFTER, went[-1].astimezone(UTC)))
    return due


def summarise(project: Project, seen: ObservedCluster | None, price: Callable[[str | None], float | None]) -> Summary:
    """What goes down for `project` as `seen` (a look at its cluster) shows it now."""
    if seen is None or seen.error is not None:
        return Summary(workloads=0, observed=False)
    # Counted as they are before the transition: a workload or pool already down counts with its remembered
    # size, so the after-note names the same things as the heads-up.
    workloads = sum(
        1
        for w in seen.workloads
        if project.manages(w.ref) and not w.excluded and (w.replicas > 0 or (w.original_replicas or 0) > 0)
    )
    pools: list[PoolLine] = []
    if project.node_pool_action is not NodePoolAction.NONE:
        for name in project.node_pools:
            pool = seen.pool(name)
            if pool is None:
                continue
            nodes = pool.size.count if pool.size.power_state == "Running" else 0
            if pool.original is not None:
                nodes = max(nodes, pool.original.count)
            gpu = bool(GPU_SIZE.match(pool.vm_size or ""))
            pools.append(PoolLine(name, pool.vm_size, nodes, gpu, price(pool.vm_size)))
    return Summary(workloads=workloads, pools=tuple(pools))


def clusters_of(due: Sequence[Due]) -> Mapping[ClusterId, list[Project]]:
    out: dict[ClusterId, list[Project]] = {}
    for item in due:
        members = out.setdefault(item.project.cluster, [])
        if item.project not in members:
            members.append(item.project)
    return out


def _utc(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(UTC)
