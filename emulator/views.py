"""Direct reads and writes of one emulated cluster for tests, bypassing HTTP (and faults and counters)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator import kinds
from emulator.patches import merge_patch
from emulator.state import Cluster, State


@dataclass(frozen=True)
class PoolSnapshot:
    """An agent pool as ARM shows it, plus the nodes actually running."""

    name: str
    mode: str
    vm_size: str
    count: int
    nodes: int
    enable_auto_scaling: bool
    min_count: int | None
    max_count: int | None
    power_state: str
    provisioning_state: str
    tags: Mapping[str, str]


def _kind(plural: str) -> kinds.Kind:
    try:
        return kinds.BY_PLURAL[plural]
    except KeyError:
        raise KeyError(f"unknown kind {plural!r} (known: {', '.join(kinds.BY_PLURAL)})") from None


class ClusterView:
    """`emu.cluster("aks-demo")`: every call settles time first and returns copies."""

    def __init__(self, state: State, name: str) -> None:
        self._state, self.name = state, name

    def _cluster(self) -> Cluster:
        self._state.settle()
        return self._state.cluster(self.name)

    # -- node pools ----------------------------------------------------------------------------
    def pool(self, name: str) -> PoolSnapshot:
        with self._state.lock:
            pool = self._cluster().pools[name]
            p = pool.props
            return PoolSnapshot(
                name=name,
                mode=pool.mode,
                vm_size=p.get("vmSize", ""),
                count=pool.count,
                nodes=pool.nodes,
                enable_auto_scaling=bool(p.get("enableAutoScaling")),
                min_count=p.get("minCount"),
                max_count=p.get("maxCount"),
                power_state=pool.power_state,
                provisioning_state=pool.provisioning_state,
                tags=dict(p.get("tags") or {}),
            )

    def pools(self) -> list[PoolSnapshot]:
        with self._state.lock:
            names = list(self._cluster().pools)
        return [self.pool(n) for n in names]

    def set_pool(self, name: str, **changes: Any) -> PoolSnapshot:
        """Change a pool at once, without an operation: count, power_state, enable_auto_scaling,
        min_count, max_count, tags, provisioning_state (e.g. "Updating" to simulate a busy pool)."""
        keys = {
            "count": "count",
            "enable_auto_scaling": "enableAutoScaling",
            "min_count": "minCount",
            "max_count": "maxCount",
            "tags": "tags",
        }
        with self._state.lock:
            pool = self._cluster().pools[name]
            for key, value in changes.items():
                if key == "power_state":
                    pool.props["powerState"] = {"code": value}
                elif key == "provisioning_state":
                    pool.provisioning_state = value
                elif key in keys:
                    if value is None:
                        pool.props.pop(keys[key], None)
                    else:
                        pool.props[keys[key]] = value
                else:
                    raise KeyError(
                        f"set_pool does not know {key!r} (known: power_state, provisioning_state, {', '.join(keys)})"
                    )
            nodes = pool.count if pool.power_state == "Running" else 0
            if nodes and not pool.nodes:
                pool.nodes_since = self._state.clock.now()
            pool.nodes = nodes
            if not nodes:
                pool.nodes_since = None
        return self.pool(name)

    # -- Kubernetes objects --------------------------------------------------------------------
    def get(self, plural: str, namespace: str, name: str) -> dict:
        with self._state.lock:
            return self._cluster().store.get(_kind(plural), namespace, name)

    def deployment(self, namespace: str, name: str) -> dict:
        return self.get("deployments", namespace, name)

    def statefulset(self, namespace: str, name: str) -> dict:
        return self.get("statefulsets", namespace, name)

    def objects(self, plural: str, namespace: str | None = None) -> list[dict]:
        with self._state.lock:
            return self._cluster().store.list(_kind(plural), namespace)["items"]

    def create(self, plural: str, obj: dict) -> dict:
        """Add an object (e.g. a Job a test needs); its namespace must exist."""
        kind = _kind(plural)
        with self._state.lock:
            return self._cluster().store.create(kind, obj.get("metadata", {}).get("namespace", ""), obj)

    def delete(self, plural: str, namespace: str, name: str) -> dict:
        with self._state.lock:
            return self._cluster().store.delete(_kind(plural), namespace, name)

    def patch(self, plural: str, namespace: str, name: str, patch: dict) -> dict:
        """A JSON merge patch, as `kubectl patch --type merge` would send (new resourceVersion)."""
        kind = _kind(plural)
        with self._state.lock:
            store = self._cluster().store
            entry = store.entry(kind, namespace, name)
            store._write(
                kind,
                entry,
                merge_patch(
                    entry.obj, {**patch, "metadata": {**(patch.get("metadata") or {}), "resourceVersion": None}}
                ),
            )
            return store.get(kind, namespace, name)

    def set_replicas(self, plural: str, namespace: str, name: str, replicas: int) -> dict:
        return self.patch(plural, namespace, name, {"spec": {"replicas": replicas}})

    def ready_replicas(self, plural: str, namespace: str, name: str) -> int:
        return (self.get(plural, namespace, name).get("status") or {}).get("readyReplicas", 0)
