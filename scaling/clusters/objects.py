"""Raw Kubernetes objects (API JSON or `kubectl -o json`) into the observed values the planner reads.

Both access paths (scaling/clusters/kube.py and scaling/clusters/runcommand.py) end here, so a Deployment looks the same
to the planner whichever way it was read. Pure: no I/O.

Two kinds of problems are told apart:
- an object the API could never have returned (no name, replicas not a number): ObjectError, which fails
  the cluster's look, because the data cannot be trusted;
- an aks-hours annotation a person got wrong (`aks-hours/min-replicas: "two"`): reported in
  `annotation_errors` of the workload concerned, never fatal. A bad bookkeeping annotation on an HPA or a
  ScaledObject is reported on the workload it targets, so the planner sees it where it decides.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from scaling import annotations as ann
from scaling.model import WorkloadKind, WorkloadRef
from scaling.names import ClusterId, InvalidName, agent_pool_name, dns1123_label, dns1123_subdomain
from scaling.plan.observed import (
    ObservedCluster,
    ObservedCronJob,
    ObservedHpa,
    ObservedScaledObject,
    ObservedWorkload,
)

log = logging.getLogger(__name__)

# Highest replica count accepted from an annotation; anything above is a typo, not a size.
MAX_REPLICAS = 10_000
# Labels AKS puts on every node naming its agent pool.
POOL_LABELS = ("agentpool", "kubernetes.azure.com/agentpool")
WORKLOAD_ANNOTATIONS = frozenset({ann.ORIGINAL_REPLICAS, ann.EXCLUDE, ann.UPTIME, ann.MIN_REPLICAS, ann.OWNER})
_KINDS = {"Deployment": WorkloadKind.DEPLOYMENT, "StatefulSet": WorkloadKind.STATEFULSET}


class ObjectError(ValueError):
    """An object no API server would return; the message names it and says what is wrong."""


@dataclass(frozen=True)
class Meta:
    """Who an object is, validated."""

    namespace: str
    name: str
    resource_version: str
    annotations: Mapping[str, str]

    def label(self, kind: str) -> str:
        return f"{kind}/{self.namespace}/{self.name}"


def meta(raw: Mapping[str, Any], kind: str) -> Meta:
    """The validated metadata of one object, or ObjectError naming it."""
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        raise ObjectError(f"a {kind} without metadata")
    try:
        namespace = dns1123_label(str(metadata.get("namespace") or ""), what=f"{kind} namespace")
        name = dns1123_subdomain(str(metadata.get("name") or ""), what=f"{kind} name")
    except InvalidName as error:
        raise ObjectError(str(error)) from None
    version = metadata.get("resourceVersion")
    if not isinstance(version, str) or not version:
        raise ObjectError(f"{kind}/{namespace}/{name} has no resourceVersion")
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, Mapping) or not all(isinstance(v, str) for v in annotations.values()):
        raise ObjectError(f"{kind}/{namespace}/{name} has annotations that are not text")
    return Meta(namespace, name, version, annotations)


def _field_int(raw: Mapping[str, Any], path: str, *, what: str, default: int | None = None) -> int:
    value: Any = raw
    for key in path.split("."):
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ObjectError(f"{what}: {path} is {value!r}, not a non-negative integer")
    return value


def _created(raw: Mapping[str, Any]) -> datetime | None:
    """metadata.creationTimestamp (RFC 3339, UTC), or None when absent or unreadable: it is only shown."""
    value = (raw.get("metadata") or {}).get("creationTimestamp")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def annotation_count(value: str, key: str) -> int:
    """A replica count written in an annotation: a plain non-negative integer, else ValueError."""
    text = value.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_REPLICAS:
        raise ValueError(f"{key}: {value!r} is not a whole number from 0 to {MAX_REPLICAS}")
    return int(text)


def annotation_bool(value: str, key: str) -> bool:
    """ "true" or "false" (any case), else ValueError."""
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise ValueError(f'{key}: {value!r} is neither "true" nor "false"')
    return text == "true"


def workload(raw: Mapping[str, Any], kind: WorkloadKind) -> ObservedWorkload:
    """A Deployment or StatefulSet; wrong aks-hours annotations land in `annotation_errors`."""
    kind_name = "Deployment" if kind is WorkloadKind.DEPLOYMENT else "StatefulSet"
    m = meta(raw, kind_name)
    what = m.label(kind.value)
    # The API server defaults spec.replicas to 1; kubectl output always has it.
    replicas = _field_int(raw, "spec.replicas", what=what, default=1)
    ready = _field_int(raw, "status.readyReplicas", what=what, default=0)
    current = _field_int(raw, "status.replicas", what=what, default=0)
    available = _field_int(raw, "status.availableReplicas", what=what, default=0)
    errors: list[str] = []
    original = min_replicas = own_uptime = owner = None
    excluded = False
    for key, value in sorted(m.annotations.items()):
        if not key.startswith(ann.PREFIX):
            continue
        try:
            if key == ann.ORIGINAL_REPLICAS:
                original = annotation_count(value, key)
            elif key == ann.MIN_REPLICAS:
                min_replicas = annotation_count(value, key)
            elif key == ann.EXCLUDE:
                try:
                    excluded = annotation_bool(value, key)
                except ValueError as error:
                    # Someone meant to say something: leaving the workload alone is the safe reading.
                    excluded = True
                    raise ValueError(f"{error}; treated as excluded") from None
            elif key == ann.UPTIME:
                own_uptime = _uptime(value, key)
            elif key == ann.OWNER:
                owner = owner_name(value)
            else:
                raise ValueError(f"{key}: unknown annotation (known: {', '.join(sorted(WORKLOAD_ANNOTATIONS))})")
        except ValueError as error:
            errors.append(str(error))
    return ObservedWorkload(
        ref=WorkloadRef(kind, m.namespace, m.name),
        replicas=replicas,
        ready_replicas=ready,
        resource_version=m.resource_version,
        original_replicas=original,
        excluded=excluded,
        own_uptime=own_uptime,
        min_replicas=min_replicas,
        node_pool=node_pool(raw),
        annotation_errors=tuple(errors),
        current_replicas=current,
        available_replicas=available,
        created=_created(raw),
        owner=owner,
    )


def owner_name(value: object) -> str | None:
    """The project named by an owner annotation or tag; None when it names none (a hand edit): only the
    reason of a release depends on it."""
    if not isinstance(value, str):
        return None
    try:
        return dns1123_label(value, what="project")
    except InvalidName:
        return None


def _uptime(value: str, key: str) -> str:
    from scaling.schedule.hours import parse  # the grammar is the project's; zones are checked there too

    try:
        parse(uptime=value, timezone="UTC")
    except ValueError as error:
        raise ValueError(f"{key}: {error}") from None
    return value.strip()


def node_pool(raw: Mapping[str, Any]) -> str | None:
    """The agent pool a workload's pods are pinned to: nodeSelector, or one required affinity term."""
    pod = ((raw.get("spec") or {}).get("template") or {}).get("spec") or {}
    selector = pod.get("nodeSelector") or {}
    for label in POOL_LABELS:
        if isinstance(selector.get(label), str):
            return _pool_name(selector[label])
    required = ((pod.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if len(terms) != 1:  # several terms are OR'd: no single pool
        return None
    for expression in terms[0].get("matchExpressions") or []:
        values = expression.get("values") or []
        if expression.get("key") in POOL_LABELS and expression.get("operator") == "In" and len(values) == 1:
            return _pool_name(values[0])
    return None


def _pool_name(value: Any) -> str | None:
    try:
        return agent_pool_name(value)
    except InvalidName:
        return None  # cannot be an AKS pool, so no pool of ours depends on it


def _target(raw: Mapping[str, Any], m: Meta, kind: str, *, default_kind: str | None = None) -> WorkloadRef | None:
    ref = (raw.get("spec") or {}).get("scaleTargetRef") or {}
    target_kind = _KINDS.get(ref.get("kind") or default_kind or "")
    if target_kind is None or not isinstance(ref.get("name"), str):
        return None  # targets something we do not scale (an Argo Rollout, say)
    try:
        return WorkloadRef(target_kind, m.namespace, dns1123_subdomain(ref["name"], what=f"{kind} target"))
    except InvalidName as error:
        raise ObjectError(f"{m.label(kind)}: {error}") from None


def hpa(raw: Mapping[str, Any]) -> tuple[ObservedHpa | None, list[str]]:
    """An autoscaling/v2 HPA targeting a Deployment/StatefulSet (None otherwise), and annotation errors."""
    m = meta(raw, "HorizontalPodAutoscaler")
    target = _target(raw, m, "hpa")
    if target is None:
        return None, []
    what = m.label("hpa")
    errors: list[str] = []
    originals: dict[str, int | None] = {ann.ORIGINAL_HPA_MIN: None, ann.ORIGINAL_HPA_MAX: None}
    for key in originals:
        if key in m.annotations:
            try:
                originals[key] = annotation_count(m.annotations[key], key)
            except ValueError as error:
                errors.append(f"{what}: {error}")
    observed = ObservedHpa(
        namespace=m.namespace,
        name=m.name,
        target=target,
        min_replicas=_field_int(raw, "spec.minReplicas", what=what, default=1),  # API default
        max_replicas=_field_int(raw, "spec.maxReplicas", what=what),
        resource_version=m.resource_version,
        original_min=originals[ann.ORIGINAL_HPA_MIN],
        original_max=originals[ann.ORIGINAL_HPA_MAX],
    )
    return observed, errors


def scaled_object(raw: Mapping[str, Any]) -> tuple[ObservedScaledObject | None, list[str]]:
    """A KEDA ScaledObject targeting a Deployment/StatefulSet (None otherwise), and annotation errors."""
    m = meta(raw, "ScaledObject")
    target = _target(raw, m, "scaledobject", default_kind="Deployment")  # KEDA's default kind
    if target is None:
        return None, []
    errors: list[str] = []
    paused_by_app = False
    if ann.PAUSED_BY_APP in m.annotations:
        try:
            paused_by_app = annotation_bool(m.annotations[ann.PAUSED_BY_APP], ann.PAUSED_BY_APP)
        except ValueError as error:
            # Not provably ours: never lift a pause someone else may have set.
            errors.append(f"{m.label('scaledobject')}: {error}; the pause is not lifted")
    observed = ObservedScaledObject(
        namespace=m.namespace,
        name=m.name,
        target=target,
        paused_replicas=m.annotations.get(ann.KEDA_PAUSED_REPLICAS),
        paused_by_app=paused_by_app,
        resource_version=m.resource_version,
    )
    return observed, errors


def cronjob(raw: Mapping[str, Any], running: Iterable[str] = ()) -> tuple[ObservedCronJob, list[str]]:
    """A CronJob; its running Jobs are those named in its `status.active` (kept by the CronJob
    controller) together with `running`, the names of running Jobs it owns (from the Jobs list)."""
    m = meta(raw, "CronJob")
    what = m.label("cronjob")
    suspend = (raw.get("spec") or {}).get("suspend", False)
    if suspend is None:
        suspend = False
    if not isinstance(suspend, bool):
        raise ObjectError(f"{what}: spec.suspend is {suspend!r}, not a boolean")
    errors: list[str] = []
    original = None
    if ann.ORIGINAL_SUSPEND in m.annotations:
        try:
            original = annotation_bool(m.annotations[ann.ORIGINAL_SUSPEND], ann.ORIGINAL_SUSPEND)
        except ValueError as error:
            errors.append(f"{what}: {error}")
    active = (raw.get("status") or {}).get("active") or []
    if not isinstance(active, list):
        raise ObjectError(f"{what}: status.active is not a list")
    names = {ref.get("name") for ref in active if isinstance(ref, Mapping)} | set(running)
    observed = ObservedCronJob(
        namespace=m.namespace,
        name=m.name,
        suspend=suspend,
        resource_version=m.resource_version,
        original_suspend=original,
        active_jobs=len(names),
        annotation_errors=tuple(errors),
    )
    return observed, errors


def running_jobs(jobs: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(namespace, CronJob name) -> names of its Jobs that still have active pods."""
    running: dict[tuple[str, str], set[str]] = {}
    for job in jobs:
        metadata = job.get("metadata") or {}
        active = (job.get("status") or {}).get("active") or 0
        if not isinstance(active, int) or active <= 0:
            continue
        for owner in metadata.get("ownerReferences") or []:
            if owner.get("kind") == "CronJob" and owner.get("controller") and isinstance(owner.get("name"), str):
                running.setdefault((str(metadata.get("namespace")), owner["name"]), set()).add(
                    str(metadata.get("name"))
                )
    return running


def observed_cluster(
    cluster: ClusterId,
    lists: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    namespaces: Iterable[str],
    keda_installed: bool,
    strays: bool = False,
) -> ObservedCluster:
    """One cluster's lists (keys as runscript.READ_RESOURCES) into an ObservedCluster.

    Objects outside `namespaces` are dropped (a cluster-wide list sees everyone's), but with `strays` those
    holding the app's originals (ann.BOOKKEEPING), which scaling/plan/release.py gives back. ObjectError
    propagates: the caller turns it into the cluster's `error`."""
    wanted = set(namespaces)

    def mine(items: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        return [item for item in items if (item.get("metadata") or {}).get("namespace") in wanted or held(item)]

    def held(item: Mapping[str, Any]) -> bool:
        notes = (item.get("metadata") or {}).get("annotations")
        return strays and isinstance(notes, Mapping) and any(key in notes for key in ann.BOOKKEEPING)

    workloads = [workload(raw, WorkloadKind.DEPLOYMENT) for raw in mine(lists.get("deployments", ()))]
    workloads += [workload(raw, WorkloadKind.STATEFULSET) for raw in mine(lists.get("statefulsets", ()))]
    errors_by_target: dict[WorkloadRef, list[str]] = {}
    hpas: list[ObservedHpa] = []
    scaled_objects: list[ObservedScaledObject] = []
    cronjobs: list[ObservedCronJob] = []
    for raw in mine(lists.get("horizontalpodautoscalers", ())):
        found, errors = hpa(raw)
        if found is not None:
            hpas.append(found)
            errors_by_target.setdefault(found.target, []).extend(errors)
    for raw in mine(lists.get("scaledobjects", ())):
        found_so, errors = scaled_object(raw)
        if found_so is not None:
            scaled_objects.append(found_so)
            errors_by_target.setdefault(found_so.target, []).extend(errors)
    running = running_jobs(mine(lists.get("jobs", ())))
    for raw in mine(lists.get("cronjobs", ())):
        metadata = raw.get("metadata") or {}
        found_cj, errors = cronjob(raw, running.get((str(metadata.get("namespace")), str(metadata.get("name"))), ()))
        cronjobs.append(found_cj)  # its annotation errors travel with it; the planner reports them
    by_ref = {w.ref: w for w in workloads}
    for ref, errors in errors_by_target.items():
        if errors and ref in by_ref:
            by_ref[ref] = replace(by_ref[ref], annotation_errors=by_ref[ref].annotation_errors + tuple(errors))
        elif errors:
            log.warning("%s: %s", cluster.name, "; ".join(errors))
    return ObservedCluster(
        cluster=cluster,
        workloads=tuple(sorted(by_ref.values(), key=lambda w: w.ref)),
        hpas=tuple(sorted(hpas, key=lambda h: (h.namespace, h.name))),
        scaled_objects=tuple(sorted(scaled_objects, key=lambda s: (s.namespace, s.name))),
        cronjobs=tuple(sorted(cronjobs, key=lambda c: (c.namespace, c.name))),
        keda_installed=keda_installed,
    )
