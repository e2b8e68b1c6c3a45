"""What the cluster's controllers do between requests: pods becoming ready, HPAs and KEDA correcting replicas.

Evaluated lazily (before every request and every read from the Python API) from recorded times,
so the result does not depend on how often anyone looks.
"""

from __future__ import annotations

from collections.abc import Callable

from emulator import kinds
from emulator.config import Delays
from emulator.store import Entry, Store

KEDA_PAUSED_REPLICAS = "autoscaling.keda.sh/paused-replicas"
KEDA_PAUSED = "autoscaling.keda.sh/paused"

# pool name (or None) -> clock time since which the pool has had usable nodes, or None if it has none
Availability = Callable[[str | None], float | None]


def pool_of(obj: dict) -> str | None:
    """The agent pool a workload's pods are pinned to by nodeSelector, if any."""
    template = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    if obj.get("kind") == "CronJob":
        template = ((((obj.get("spec") or {}).get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get(
            "spec"
        ) or {}
    selector = template.get("nodeSelector") or {}
    for label in kinds.POOL_LABELS:
        if label in selector:
            return selector[label]
    return None


def settle(store: Store, now: float, delays: Delays, available: Availability) -> None:
    _autoscalers(store, now, delays)
    for kind in kinds.WORKLOADS:
        for _, entry in store.entries(kind):
            _workload_status(store, kind, entry, now, delays, available)


def _workload_status(
    store: Store, kind: kinds.Kind, entry: Entry, now: float, delays: Delays, available: Availability
) -> None:
    obj = entry.obj
    wanted = (obj.get("spec") or {}).get("replicas", 1)
    since = available(pool_of(obj))
    previous = (obj.get("status") or {}).get("readyReplicas", 0)
    if entry.pool_since != since:
        previous = 0  # the pool lost its nodes in between: every pod started again
    entry.pool_since = since
    if since is None:
        ready = 0
    elif wanted <= previous:
        ready = wanted  # scaling down is immediate
    elif now >= max(entry.replicas_at, since) + delays.ready:
        ready = wanted
    else:
        ready = previous
    generation = obj["metadata"].get("generation", 1)
    if kind is kinds.DEPLOYMENTS:
        # Deployment status fields are omitempty: zeros are not sent.
        fields = {
            "observedGeneration": generation,
            "replicas": wanted,
            "updatedReplicas": wanted,
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": wanted - ready,
        }
        status = {k: v for k, v in fields.items() if v}
        status["conditions"] = [
            {
                "type": "Available",
                "status": "True" if ready >= wanted else "False",
                "reason": "MinimumReplicasAvailable" if ready >= wanted else "MinimumReplicasUnavailable",
            }
        ]
    else:
        status = {
            "observedGeneration": generation,
            "replicas": wanted,
            "availableReplicas": ready,
            **({"readyReplicas": ready, "currentReplicas": wanted, "updatedReplicas": wanted} if ready else {}),
            "currentRevision": f"{obj['metadata']['name']}-1",
            "updateRevision": f"{obj['metadata']['name']}-1",
        }
    store.set_status(entry, status)


def _target(store: Store, namespace: str, ref: dict | None) -> tuple[kinds.Kind, Entry] | None:
    kind = {"Deployment": kinds.DEPLOYMENTS, "StatefulSet": kinds.STATEFULSETS}.get(
        (ref or {}).get("kind", "Deployment")
    )
    if kind is None:
        return None
    try:
        return kind, store.entry(kind, namespace, (ref or {}).get("name", ""))
    except Exception:  # noqa: BLE001 - a missing target is a normal state for an autoscaler
        return None


def _autoscalers(store: Store, now: float, delays: Delays) -> None:
    """HPAs clamp a running target into [min, max] (a target at 0 disables them, as in Kubernetes);
    KEDA holds a target at `paused-replicas` when set, otherwise treats every trigger as active
    and keeps it within [max(minReplicaCount, 1), maxReplicaCount]."""
    for (_, namespace, _), hpa in store.entries(kinds.HPAS):
        spec = hpa.obj.get("spec") or {}
        found = _target(store, namespace, spec.get("scaleTargetRef"))
        if found is None:
            continue
        kind, target = found
        current = (target.obj.get("spec") or {}).get("replicas", 1)
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        desired = current if current == 0 else min(max(current, low), high)
        _correct(store, kind, target, hpa, current, desired, now, delays)
        status = {"currentReplicas": current, "desiredReplicas": desired}
        if current == 0:
            status["conditions"] = [
                {
                    "type": "ScalingActive",
                    "status": "False",
                    "reason": "ScalingDisabled",
                    "message": "scaling is disabled since the replica count of the target is zero",
                }
            ]
        store.set_status(hpa, status)
    for (_, namespace, _), scaled in store.entries(kinds.SCALED_OBJECTS):
        spec = scaled.obj.get("spec") or {}
        found = _target(store, namespace, spec.get("scaleTargetRef"))
        if found is None:
            continue
        kind, target = found
        current = (target.obj.get("spec") or {}).get("replicas", 1)
        annotations = scaled.obj["metadata"].get("annotations") or {}
        paused = annotations.get(KEDA_PAUSED_REPLICAS)
        if paused is not None and paused.isdigit():
            desired = int(paused)
        elif annotations.get(KEDA_PAUSED, "").lower() == "true":
            desired = current
        else:
            low = max(int(spec.get("minReplicaCount", 0)), 1)
            desired = min(max(current, low), int(spec.get("maxReplicaCount", 100)))
        _correct(store, kind, target, scaled, current, desired, now, delays)
        is_paused = paused is not None or annotations.get(KEDA_PAUSED, "").lower() == "true"
        store.set_status(
            scaled,
            {
                "scaleTargetKind": f"apps/v1.{kind.kind}",
                "originalReplicaCount": current,
                **({"pausedReplicaCount": int(paused)} if paused and paused.isdigit() else {}),
                "conditions": [
                    {"type": "Ready", "status": "True"},
                    {"type": "Active", "status": "False" if is_paused else "True"},
                    {"type": "Paused", "status": "True" if is_paused else "False"},
                ],
            },
        )


def _correct(
    store: Store, kind: kinds.Kind, target: Entry, owner: Entry, current: int, desired: int, now: float, delays: Delays
) -> None:
    if desired != current and now >= max(target.changed_at, owner.changed_at) + delays.hpa_sync:
        store.set_replicas(kind, target, desired)
