"""The emulator's YAML configuration: clusters, node pools, namespaces and their workloads, validated."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

_POOL = re.compile(r"^[a-z][a-z0-9]{0,11}$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_CLUSTER = re.compile(r"^[a-zA-Z0-9]([-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$")


class ConfigError(ValueError):
    """The configuration is malformed; the message says where."""


@dataclass(frozen=True)
class Delays:
    """How long simulated things take, in seconds (real AKS: minutes; tests: a fraction of a second)."""

    pool_operation: float = 20.0  # agent pool PUT: Updating/Stopping/Starting -> Succeeded
    run_command: float = 8.0  # extra time before a run-command result is available
    ready: float = 5.0  # pods becoming ready after replicas went up (on a pool that has nodes)
    hpa_sync: float = 15.0  # HPA / KEDA controllers correcting a target's replicas
    lro_retry_after: float = 5.0  # Retry-After advertised on LRO responses (sub-second: retry-after-ms)

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any] | None, where: str = "delays") -> Delays:
        raw = dict(raw or {})
        known = {f.name: f.name for f in fields(cls)}
        known.update({_camel(name): name for name in list(known)})
        values: dict[str, float] = {}
        for key, value in raw.items():
            if key not in known:
                raise ConfigError(
                    f"{where}: unknown delay {key!r} (known: {', '.join(sorted(f.name for f in fields(cls)))})"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(f"{where}.{key}: {value!r} is not a non-negative number of seconds")
            values[known[key]] = float(value)
        return cls(**values)

    def scaled(self, **changes: float) -> Delays:
        return replace(self, **{k: float(v) for k, v in changes.items()})


@dataclass(frozen=True)
class PoolConfig:
    name: str
    mode: str = "User"  # System | User
    vm_size: str = "Standard_D2s_v5"
    count: int = 1
    autoscaler: tuple[int, int] | None = None  # (minCount, maxCount) when the cluster autoscaler is on
    power_state: str = "Running"
    tags: Mapping[str, str] = field(default_factory=dict)
    node_labels: Mapping[str, str] = field(default_factory=dict)
    node_taints: tuple[str, ...] = ()
    spot: bool = False


@dataclass(frozen=True)
class NamespaceConfig:
    name: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    objects: tuple[tuple[str, dict], ...]  # (resource plural, manifest) in config order


@dataclass(frozen=True)
class ClusterConfig:
    name: str
    location: str
    private: bool
    keda: bool
    kubernetes_version: str
    tags: Mapping[str, str]
    pools: tuple[PoolConfig, ...]
    namespaces: tuple[NamespaceConfig, ...]


@dataclass(frozen=True)
class Config:
    subscription: str
    resource_group: str
    clusters: tuple[ClusterConfig, ...]
    delays: Delays

    @classmethod
    def load(cls, path: str | Path) -> Config:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ConfigError(f"cannot read emulator config {path}: {error}") from None
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None
        return cls.from_mapping(raw, where=str(path))

    @classmethod
    def from_mapping(cls, raw: Any, where: str = "config") -> Config:
        raw = _mapping(raw, where)
        _only(raw, where, {"subscription", "resourceGroup", "location", "delays", "clusters"})
        location = _str(raw.get("location", "westeurope"), f"{where}.location")
        clusters = tuple(
            _cluster(item, f"{where}.clusters[{i}]", location)
            for i, item in enumerate(_list(raw.get("clusters"), f"{where}.clusters"))
        )
        if not clusters:
            raise ConfigError(f"{where}.clusters: at least one cluster is needed")
        _unique([c.name for c in clusters], f"{where}.clusters")
        return cls(
            subscription=_str(raw.get("subscription", "00000000-0000-0000-0000-000000000000"), f"{where}.subscription"),
            resource_group=_str(raw.get("resourceGroup", "rg-aks-hours-demo"), f"{where}.resourceGroup"),
            clusters=clusters,
            delays=Delays.from_mapping(raw.get("delays"), f"{where}.delays"),
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _mapping(value: Any, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _list(value: Any, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {type(value).__name__}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}: expected a non-empty string, got {value!r}")
    return value


def _int(value: Any, where: str, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{where}: expected an integer >= {low}, got {value!r}")
    return value


def _strmap(value: Any, where: str) -> dict[str, str]:
    value = _mapping(value, where)
    return {str(k): str(v) for k, v in value.items()}


def _only(raw: dict, where: str, allowed: set[str]) -> None:
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown keys {', '.join(sorted(unknown))} (allowed: {', '.join(sorted(allowed))})")


def _unique(names: list[str], where: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{where}: {name!r} appears twice")
        seen.add(name)


def _name(value: Any, where: str, pattern: re.Pattern, what: str) -> str:
    value = _str(value, where)
    if not pattern.match(value):
        raise ConfigError(f"{where}: {value!r} is not a valid {what}")
    return value


def _cluster(raw: Any, where: str, location: str) -> ClusterConfig:
    raw = _mapping(raw, where)
    _only(raw, where, {"name", "location", "private", "keda", "kubernetesVersion", "tags", "pools", "namespaces"})
    name = _name(raw.get("name"), f"{where}.name", _CLUSTER, "cluster name")
    pools = tuple(
        _pool(item, f"{where}.pools[{i}]") for i, item in enumerate(_list(raw.get("pools"), f"{where}.pools"))
    )
    _unique([p.name for p in pools], f"{where}.pools")
    if not any(p.mode == "System" for p in pools):
        raise ConfigError(f"{where}.pools: a cluster needs at least one System pool")
    pool_names = {p.name for p in pools}
    namespaces = tuple(
        _namespace(item, f"{where}.namespaces[{i}]", pool_names, bool(raw.get("keda", False)))
        for i, item in enumerate(_list(raw.get("namespaces"), f"{where}.namespaces"))
    )
    _unique([n.name for n in namespaces], f"{where}.namespaces")
    return ClusterConfig(
        name=name,
        location=_str(raw.get("location", location), f"{where}.location"),
        private=bool(raw.get("private", False)),
        keda=bool(raw.get("keda", False)),
        kubernetes_version=_str(str(raw.get("kubernetesVersion", "1.32.4")), f"{where}.kubernetesVersion"),
        tags=_strmap(raw.get("tags"), f"{where}.tags"),
        pools=pools,
        namespaces=namespaces,
    )


def _pool(raw: Any, where: str) -> PoolConfig:
    raw = _mapping(raw, where)
    _only(
        raw,
        where,
        {"name", "mode", "vmSize", "count", "autoscaler", "powerState", "tags", "nodeLabels", "nodeTaints", "spot"},
    )
    mode = raw.get("mode", "User")
    if mode not in ("System", "User"):
        raise ConfigError(f"{where}.mode: {mode!r} must be System or User")
    autoscaler = None
    if raw.get("autoscaler") is not None:
        scaler = _mapping(raw["autoscaler"], f"{where}.autoscaler")
        _only(scaler, f"{where}.autoscaler", {"min", "max"})
        low = _int(scaler.get("min"), f"{where}.autoscaler.min")
        high = _int(scaler.get("max"), f"{where}.autoscaler.max", low=max(low, 1))
        autoscaler = (low, high)
    power = raw.get("powerState", "Running")
    if power not in ("Running", "Stopped"):
        raise ConfigError(f"{where}.powerState: {power!r} must be Running or Stopped")
    return PoolConfig(
        name=_name(raw.get("name"), f"{where}.name", _POOL, "agent pool name (^[a-z][a-z0-9]{0,11}$)"),
        mode=mode,
        vm_size=_str(raw.get("vmSize", "Standard_D2s_v5"), f"{where}.vmSize"),
        count=_int(raw.get("count", 1), f"{where}.count"),
        autoscaler=autoscaler,
        power_state=power,
        tags=_strmap(raw.get("tags"), f"{where}.tags"),
        node_labels=_strmap(raw.get("nodeLabels"), f"{where}.nodeLabels"),
        node_taints=tuple(str(t) for t in _list(raw.get("nodeTaints"), f"{where}.nodeTaints")),
        spot=bool(raw.get("spot", False)),
    )


_WORKLOAD_KEYS = {"name", "replicas", "pool", "image", "labels", "annotations"}


def _namespace(raw: Any, where: str, pools: set[str], keda: bool) -> NamespaceConfig:
    from emulator import manifests  # builds the Kubernetes objects; kept apart to stay small

    raw = _mapping(raw, where)
    _only(
        raw,
        where,
        {"name", "labels", "annotations", "deployments", "statefulsets", "hpas", "cronjobs", "jobs", "scaledobjects"},
    )
    ns = _name(raw.get("name"), f"{where}.name", _LABEL, "namespace name (DNS-1123 label)")
    objects: list[tuple[str, dict]] = []
    for plural in ("deployments", "statefulsets"):
        for i, item in enumerate(_list(raw.get(plural), f"{where}.{plural}")):
            at = f"{where}.{plural}[{i}]"
            item = _mapping(item, at)
            _only(item, at, _WORKLOAD_KEYS)
            pool = item.get("pool")
            if pool is not None and pool not in pools:
                raise ConfigError(f"{at}.pool: {pool!r} is not a pool of this cluster ({', '.join(sorted(pools))})")
            objects.append(
                (
                    plural,
                    manifests.workload(
                        plural,
                        ns,
                        name=_name(item.get("name"), f"{at}.name", _SUBDOMAIN, "object name (DNS-1123 subdomain)"),
                        replicas=_int(item.get("replicas", 1), f"{at}.replicas"),
                        pool=pool,
                        image=_str(item.get("image", "nginx:1.27"), f"{at}.image"),
                        labels=_strmap(item.get("labels"), f"{at}.labels"),
                        annotations=_strmap(item.get("annotations"), f"{at}.annotations"),
                    ),
                )
            )
    for i, item in enumerate(_list(raw.get("hpas"), f"{where}.hpas")):
        at = f"{where}.hpas[{i}]"
        item = _mapping(item, at)
        _only(item, at, {"name", "target", "kind", "min", "max", "annotations"})
        objects.append(
            (
                "horizontalpodautoscalers",
                manifests.hpa(
                    ns,
                    name=_name(item.get("name"), f"{at}.name", _SUBDOMAIN, "object name"),
                    target=_str(item.get("target"), f"{at}.target"),
                    kind=item.get("kind", "Deployment"),
                    low=_int(item.get("min", 1), f"{at}.min", low=1),
                    high=_int(item.get("max"), f"{at}.max", low=1),
                    annotations=_strmap(item.get("annotations"), f"{at}.annotations"),
                ),
            )
        )
    for i, item in enumerate(_list(raw.get("cronjobs"), f"{where}.cronjobs")):
        at = f"{where}.cronjobs[{i}]"
        item = _mapping(item, at)
        _only(item, at, {"name", "schedule", "suspend", "pool", "annotations"})
        objects.append(
            (
                "cronjobs",
                manifests.cronjob(
                    ns,
                    name=_name(item.get("name"), f"{at}.name", _SUBDOMAIN, "object name"),
                    schedule=_str(item.get("schedule"), f"{at}.schedule"),
                    suspend=bool(item.get("suspend", False)),
                    pool=item.get("pool"),
                    annotations=_strmap(item.get("annotations"), f"{at}.annotations"),
                ),
            )
        )
    for i, item in enumerate(_list(raw.get("jobs"), f"{where}.jobs")):
        at = f"{where}.jobs[{i}]"
        item = _mapping(item, at)
        _only(item, at, {"name", "cronjob", "active"})
        objects.append(
            (
                "jobs",
                manifests.job(
                    ns,
                    name=_name(item.get("name"), f"{at}.name", _SUBDOMAIN, "object name"),
                    cronjob=item.get("cronjob"),
                    active=_int(item.get("active", 1), f"{at}.active"),
                ),
            )
        )
    scaled = _list(raw.get("scaledobjects"), f"{where}.scaledobjects")
    if scaled and not keda:
        raise ConfigError(f"{where}.scaledobjects: the cluster does not have `keda: true`")
    for i, item in enumerate(scaled):
        at = f"{where}.scaledobjects[{i}]"
        item = _mapping(item, at)
        _only(item, at, {"name", "target", "kind", "min", "max", "annotations"})
        objects.append(
            (
                "scaledobjects",
                manifests.scaled_object(
                    ns,
                    name=_name(item.get("name"), f"{at}.name", _SUBDOMAIN, "object name"),
                    target=_str(item.get("target"), f"{at}.target"),
                    kind=item.get("kind", "Deployment"),
                    low=_int(item.get("min", 0), f"{at}.min"),
                    high=_int(item.get("max", 100), f"{at}.max", low=1),
                    annotations=_strmap(item.get("annotations"), f"{at}.annotations"),
                ),
            )
        )
    names = [(plural, obj["metadata"]["name"]) for plural, obj in objects]
    _unique([f"{p}/{n}" for p, n in names], where)
    return NamespaceConfig(
        name=ns,
        labels=_strmap(raw.get("labels"), f"{where}.labels"),
        annotations=_strmap(raw.get("annotations"), f"{where}.annotations"),
        objects=tuple(objects),
    )
