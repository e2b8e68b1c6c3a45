"""Builders for planner tests: projects, observed workloads and pools, overrides, and a state simulator
that applies planned changes the way the API server and ARM would."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping

from scaling.actions import Action, ObjectChange, PoolChange
from scaling.annotations import ORIGINAL_REPLICAS
from scaling.model import NodePoolAction, Project, ScheduleSpec, WorkloadKind, WorkloadRef, WorkloadSelector
from scaling.names import ClusterId
from scaling.observed import ObservedCluster, ObservedPool, ObservedWorkload, PoolSize
from scaling.overrides import Override, OverrideAction
from scaling.plan_pools import decode_original
from scaling.schedule import parse

UTC = timezone.utc
CLUSTER = ClusterId("00000000-0000-0000-0000-000000000001", "rg-hours", "aks-shared")
OTHER_CLUSTER = ClusterId("00000000-0000-0000-0000-000000000001", "rg-hours", "aks-other")
OFFICE = "Mon-Fri 09:00-18:00"


def project(
    name: str = "project-a",
    *,
    namespaces: tuple[str, ...] = ("project-a",),
    uptime: str | None = OFFICE,
    downtime: str | None = None,
    timezone: str = "Europe/Berlin",
    holidays: str | None = None,
    node_pools: tuple[str, ...] = (),
    node_pool_action: NodePoolAction = NodePoolAction.ZERO,
    warmup_minutes: int = 0,
    workloads: Iterable[str] = (),
    exclude: Iterable[str] = (),
    cluster: ClusterId = CLUSTER,
    enabled: bool = True,
    dry_run: bool = False,
) -> Project:
    spec = ScheduleSpec(uptime=uptime, downtime=downtime, timezone=timezone, holidays=holidays)
    return Project(
        name=name,
        cluster=cluster,
        namespaces=namespaces,
        spec=spec,
        schedule=parse(uptime=uptime, downtime=downtime, timezone=timezone, holidays=holidays),
        workloads=tuple(_selector(s) for s in workloads),
        exclude=tuple(_selector(s) for s in exclude),
        node_pools=node_pools,
        node_pool_action=node_pool_action,
        warmup_minutes=warmup_minutes,
        enabled=enabled,
        dry_run=dry_run,
    )


def _selector(text: str) -> WorkloadSelector:
    kind, name = text.split("/")
    return WorkloadSelector(WorkloadKind(kind), name)


def deployment(
    namespace: str, name: str, replicas: int, *, original: int | None = None, node_pool: str | None = None,
    kind: WorkloadKind = WorkloadKind.DEPLOYMENT, rv: str = "100", **extra,
) -> ObservedWorkload:
    return ObservedWorkload(
        ref=WorkloadRef(kind, namespace, name), replicas=replicas, ready_replicas=replicas,
        resource_version=rv, original_replicas=original, node_pool=node_pool, **extra,
    )


def pool(
    name: str, count: int = 2, *, auto: bool = False, low: int | None = None, high: int | None = None,
    power: str = "Running", mode: str = "User", state: str = "Succeeded", tags: Mapping[str, str] | None = None,
) -> ObservedPool:
    tags = dict(tags or {})
    original, errors = decode_original(tags)
    return ObservedPool(
        name=name, mode=mode, vm_size="Standard_D4s_v5", size=PoolSize(count, auto, low, high, power),
        provisioning_state=state, tags=tags, original=original, tag_errors=errors,
    )


def observed(*items: ObservedWorkload | ObservedPool, cluster: ClusterId = CLUSTER) -> dict[ClusterId, ObservedCluster]:
    return {
        cluster: ObservedCluster(
            cluster,
            workloads=tuple(i for i in items if isinstance(i, ObservedWorkload)),
            pools=tuple(i for i in items if isinstance(i, ObservedPool)),
        )
    }


def override(
    project: str = "project-a", action: OverrideAction = OverrideAction.UP, *, until: datetime,
    target: WorkloadRef | None = None, replicas: int | None = None, reason: str = "demo for a customer",
    actor: str = "alice@example.com",
) -> Override:
    return Override(
        project=project, action=action, until=until, reason=reason, actor=actor,
        created=until - timedelta(hours=1), target=target, replicas=replicas,
    )


def changes(actions: Iterable[Action]) -> list[ObjectChange | PoolChange]:
    return [a for a in actions if isinstance(a, (ObjectChange, PoolChange))]


def apply(state: Mapping[ClusterId, ObservedCluster], actions: Iterable[Action]) -> dict[ClusterId, ObservedCluster]:
    """What the clusters look like after every change succeeded (merge-patch / PUT semantics)."""
    result = dict(state)
    for action in changes(actions):
        seen = result[action.cluster]
        if isinstance(action, ObjectChange):
            result[action.cluster] = replace(seen, workloads=tuple(
                _patched(w, action) if (w.ref.namespace, w.ref.name, w.ref.kind.value) ==
                (action.namespace, action.name, action.resource.split("s.")[0]) else w
                for w in seen.workloads
            ))
        else:
            result[action.cluster] = replace(seen, pools=tuple(
                _put(p, action) if p.name == action.pool else p for p in seen.pools
            ))
    return result


def _patched(workload: ObservedWorkload, change: ObjectChange) -> ObservedWorkload:
    metadata = change.patch["metadata"]
    assert metadata["resourceVersion"] == workload.resource_version, "patch must carry the resourceVersion"
    original = workload.original_replicas
    annotations = metadata.get("annotations", {})
    if ORIGINAL_REPLICAS in annotations:
        value = annotations[ORIGINAL_REPLICAS]
        original = None if value is None else int(value)
    return replace(
        workload, replicas=change.patch["spec"]["replicas"], original_replicas=original,
        resource_version=str(int(workload.resource_version) + 1),
    )


def _put(observed_pool: ObservedPool, change: PoolChange) -> ObservedPool:
    original, errors = decode_original(change.tags)
    return replace(observed_pool, size=change.after, tags=dict(change.tags), original=original, tag_errors=errors)
