"""Planning for what would bring replicas back (pure): HorizontalPodAutoscalers, KEDA ScaledObjects, CronJobs.

Scaling a Deployment to 0 does not hold if something else owns its replica count, so each such owner is
*held* while the app holds its target, and *released* exactly as it was when the app lets the target go.
Every hold writes the remembered original in the same merge patch as the change itself, like the
workloads' `aks-hours/original-replicas`.

Preconditions. A CronJob patch carries `metadata.resourceVersion` (a stale write is a 409, retried next
tick). An HPA or ScaledObject patch does not: their controllers rewrite their status (current metrics,
replica counts, KEDA's lastActiveTime) every sync, 15-30 s, and every status write is a new
resourceVersion. On the run-command path the read and the write are tens of seconds apart, so a guarded
write would be a 409 tick after tick and the hold would never land; our own scale-down of the target
changes their status too. What the guard would protect is small: the originals are only written when
the object has none (read in the same tick), and a later tick never overwrites them; the one loss is a
min/max edited by hand in the seconds between our read and our write.

HorizontalPodAutoscaler (autoscaling/v2). An HPA cannot have `minReplicas: 0` unless the HPAScaleToZero
feature gate is on, so it is not "set to 0". Two facts carry the approach instead:
- the HPA controller leaves a target alone whose `spec.replicas` is 0 while the HPA's `minReplicas` is not 0
  (condition ScalingActive=False, "scaling is disabled since the replica count of the target is zero"), so
  the workload's own scale-down to 0 is what holds it;
- that only lasts while nobody raises the target (a GitOps sync re-applying `replicas: 3`, a person running
  `kubectl scale`), and not at all for an HPA with `minReplicas: 0` (HPAScaleToZero, beta from 1.37). So the
  HPA is also *pinned*: `minReplicas = maxReplicas = max(hold, 1)`, the originals in
  `aks-hours/original-min-replicas` / `-max-replicas`. A raised target is then clamped to 1 by the HPA
  itself and put back to 0 by the next tick; a pinned HPA with min 1 is disabled by the target at 0. With
  `aks-hours/min-replicas: N` (or a `replicas` override) the pin is N/N, which keeps exactly N.
  Releasing writes back both originals exactly and deletes the annotations in one patch.
- An HPA whose target also has a ScaledObject is KEDA's own (`keda-hpa-<name>`): KEDA deletes it while
  paused and rewrites it otherwise, so it is left to KEDA.

KEDA ScaledObject (keda.sh/v1alpha1): held with KEDA's documented pause, `autoscaling.keda.sh/paused-replicas:
"<hold>"` (KEDA scales the target to that count and stops autoscaling), plus `aks-hours/paused: "true"` in the
same patch so that only a pause the app set is ever lifted. A cluster without the CRD has no ScaledObjects
and no error.

CronJob (batch/v1): `spec.suspend: true` while the project is down, the original in
`aks-hours/original-suspend`, restored exactly. Jobs already running are left to finish and reported.

Order (phases in scaling/plan/decide.py). Going down, holds come after the workloads' scale-down
(AUTOSCALERS_DOWN): the target's size is remembered on it first; a paused KEDA writing the target before
that would make the workload's patch a 409, and the next tick would find it at 0 with nothing remembered.
Going up, releases come *before* the workloads are restored (AUTOSCALERS_UP, after the pools): a still
pinned HPA or a still paused KEDA would clamp a restored target back (to 1, to 0) before its release and
the remembered size, already removed, would be lost. Released first, an HPA is still disabled by its zero
target; a KEDA that starts the target itself makes the restore a 409, and the next tick, finding the
annotation still there, restores the exact size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from scaling.annotations import (
    KEDA_PAUSED_REPLICAS,
    ORIGINAL_HPA_MAX,
    ORIGINAL_HPA_MIN,
    ORIGINAL_SUSPEND,
    PAUSED_BY_APP,
)
from scaling.model import Project, WorkloadRef
from scaling.names import ClusterId
from scaling.plan.actions import Action, Direction, Notice, ObjectChange, Result, Why
from scaling.plan.observed import ObservedCluster, ObservedCronJob, ObservedHpa, ObservedScaledObject

# kubectl's `plural.group` (runscript.READ_RESOURCES values).
HPA_RESOURCE = "horizontalpodautoscalers.autoscaling"
SCALED_OBJECT_RESOURCE = "scaledobjects.keda.sh"
CRONJOB_RESOURCE = "cronjobs.batch"
RESOURCES = frozenset({HPA_RESOURCE, SCALED_OBJECT_RESOURCE, CRONJOB_RESOURCE})


def _label(resource: str, namespace: str, name: str) -> str:
    """The audit target of an object, as ObjectChange.target spells it."""
    return f"{resource.split('.')[0].rstrip('s')}/{namespace}/{name}"


@dataclass(frozen=True)
class TargetPlan:
    """What the app does with one workload this tick, as its autoscalers must follow it.

    `hold`: the exact replica count the app keeps the workload at (0 during downtime, N with
    `aks-hours/min-replicas` or a `replicas` override), or None when the workload runs free (business
    hours, excluded) and its autoscalers get back whatever the app took from them."""

    hold: int | None
    why: Why


def target_plan(*, up: bool, replicas: int | None, why: Why) -> TargetPlan:
    """From a workload's desire (scaling.plan.decide.Desire fields): an exact count holds, else down holds at 0."""
    if replicas is not None:
        return TargetPlan(replicas, why)
    return TargetPlan(None if up else 0, why)


def plan_autoscalers(
    cluster: ClusterId, seen: ObservedCluster, targets: Mapping[WorkloadRef, TargetPlan]
) -> list[Action]:
    """Holds and releases for every HPA and ScaledObject whose target is in `targets`.

    `targets` holds the workloads the planner decided on this tick; an autoscaler of any other workload
    (not managed, claimed twice, unreadable annotations) is left alone, as its target is."""
    keda_targets = {so.target for so in seen.scaled_objects}
    actions: list[Action] = []
    for hpa in seen.hpas:
        plan = targets.get(hpa.target)
        if plan is None or hpa.target in keda_targets:
            continue
        action = plan_hpa(cluster, hpa, plan)
        if action is not None:
            actions.append(action)
    for scaled in seen.scaled_objects:
        plan = targets.get(scaled.target)
        if plan is not None:
            action = plan_scaled_object(cluster, scaled, plan)
            if action is not None:
                actions.append(action)
    return actions


# -- HorizontalPodAutoscaler ----------------------------------------------------------------------------


def hpa_pin(hold: int) -> int:
    """min = max of a held HPA: the held count, at least 1 (the API's lowest minReplicas without the gate)."""
    return max(hold, 1)


def plan_hpa(cluster: ClusterId, hpa: ObservedHpa, target: TargetPlan) -> Action | None:
    """Pin the HPA while its target is held; give back its original min/max when the target is released."""
    label = _label(HPA_RESOURCE, hpa.namespace, hpa.name)
    remembered = (hpa.original_min, hpa.original_max)
    if (remembered[0] is None) != (remembered[1] is None):
        which = ORIGINAL_HPA_MIN if remembered[1] is None else ORIGINAL_HPA_MAX
        return Notice(
            cluster,
            label,
            f"only {which} is set (the other bookkeeping annotation was removed by hand): left alone; "
            f"set minReplicas/maxReplicas by hand and remove {which}",
            target.why,
            Result.FAILED,
        )
    now = _hpa_size(hpa.min_replicas, hpa.max_replicas)
    if target.hold is None:
        if hpa.original_min is None or hpa.original_max is None:
            return None
        if hpa.original_min > hpa.original_max or hpa.original_max < 1:
            return Notice(
                cluster,
                label,
                f"remembered minReplicas {hpa.original_min} / maxReplicas {hpa.original_max} is not a valid HPA: "
                "left pinned; fix the aks-hours/original-* annotations",
                target.why,
                Result.FAILED,
            )
        return _hpa_change(
            cluster,
            hpa,
            min_max=(hpa.original_min, hpa.original_max),
            annotations={ORIGINAL_HPA_MIN: None, ORIGINAL_HPA_MAX: None},
            before=now,
            direction=Direction.UP,
            why=target.why,
        )
    pin = hpa_pin(target.hold)
    if hpa.original_min is None:
        annotations: Mapping[str, str | None] | None = {
            ORIGINAL_HPA_MIN: str(hpa.min_replicas),
            ORIGINAL_HPA_MAX: str(hpa.max_replicas),
        }
    elif (hpa.min_replicas, hpa.max_replicas) == (pin, pin):
        return None
    else:
        # Changed during the hold (by hand, or the hold's count changed): pin again, keep the first originals.
        annotations = None
    return _hpa_change(
        cluster,
        hpa,
        min_max=(pin, pin),
        annotations=annotations,
        before=now,
        direction=Direction.DOWN,
        why=target.why,
    )


def _hpa_size(low: int, high: int) -> str:
    return f"min={low} max={high}"


def _hpa_change(
    cluster: ClusterId,
    hpa: ObservedHpa,
    *,
    min_max: tuple[int, int],
    annotations: Mapping[str, str | None] | None,
    before: str,
    direction: Direction,
    why: Why,
) -> ObjectChange:
    # No resourceVersion: see "Preconditions" in the module docstring.
    patch: dict[str, object] = {"spec": {"minReplicas": min_max[0], "maxReplicas": min_max[1]}}
    if annotations is not None:
        patch["metadata"] = {"annotations": dict(annotations)}
    return ObjectChange(
        cluster,
        HPA_RESOURCE,
        hpa.namespace,
        hpa.name,
        patch,
        before,
        _hpa_size(*min_max),
        direction,
        why,
        holds=str(hpa.target),
    )


# -- KEDA ScaledObject ----------------------------------------------------------------------------------


def plan_scaled_object(cluster: ClusterId, scaled: ObservedScaledObject, target: TargetPlan) -> Action | None:
    """Pause at the held count (only the app's own pause is ever changed or lifted); unpause on release."""
    label = _label(SCALED_OBJECT_RESOURCE, scaled.namespace, scaled.name)
    before = "running" if scaled.paused_replicas is None else f"paused at {scaled.paused_replicas}"
    if target.hold is None:
        if not scaled.paused_by_app:
            return None  # running, or paused by someone else: theirs to lift
        return _scaled_change(
            cluster,
            scaled,
            {KEDA_PAUSED_REPLICAS: None, PAUSED_BY_APP: None},
            before,
            "running",
            Direction.UP,
            target.why,
        )
    wanted = str(target.hold)
    if scaled.paused_replicas is not None and not scaled.paused_by_app:
        if scaled.paused_replicas.strip() == wanted:
            return None  # already held where the app wants it, by someone else's pause
        return Notice(
            cluster,
            label,
            f"paused by someone else at {scaled.paused_replicas!r} (not by aks-hours): left as it is, "
            f"although the schedule wants {wanted}",
            target.why,
        )
    if scaled.paused_by_app and scaled.paused_replicas == wanted:
        return None
    return _scaled_change(
        cluster,
        scaled,
        {KEDA_PAUSED_REPLICAS: wanted, PAUSED_BY_APP: "true"},
        before,
        f"paused at {wanted}",
        Direction.DOWN,
        target.why,
    )


def _scaled_change(
    cluster: ClusterId,
    scaled: ObservedScaledObject,
    annotations: Mapping[str, str | None],
    before: str,
    after: str,
    direction: Direction,
    why: Why,
) -> ObjectChange:
    # No resourceVersion: see "Preconditions" in the module docstring.
    return ObjectChange(
        cluster,
        SCALED_OBJECT_RESOURCE,
        scaled.namespace,
        scaled.name,
        {"metadata": {"annotations": dict(annotations)}},
        before,
        after,
        direction,
        why,
        holds=str(scaled.target),
    )


# -- CronJobs --------------------------------------------------------------------------------------------


def shared_namespaces(projects: Iterable[Project]) -> dict[str, tuple[str, ...]]:
    """Namespaces claimed by more than one project, with the claimants (their CronJobs have no one owner)."""
    claims: dict[str, list[str]] = defaultdict(list)
    for project in projects:
        for namespace in dict.fromkeys(project.namespaces):
            claims[namespace].append(project.name)
    return {ns: tuple(sorted(names)) for ns, names in claims.items() if len(names) > 1}


def plan_cronjobs(
    project: Project,
    *,
    up: bool,
    seen: ObservedCluster,
    why: Why,
    shared: Mapping[str, Sequence[str]] | None = None,
) -> list[Action]:
    """Suspend the CronJobs of the project's namespaces while it is down; restore `suspend` when it is up.

    `shared`: namespaces several projects claim (see shared_namespaces); their CronJobs are left alone
    and reported, since two schedules would fight over them."""
    cluster, shared = seen.cluster, shared or {}
    actions: list[Action] = []
    for cronjob in seen.cronjobs:
        if cronjob.namespace not in project.namespaces:
            continue
        if cronjob.namespace in shared:
            actions.append(
                Notice(
                    cluster,
                    _label(CRONJOB_RESOURCE, cronjob.namespace, cronjob.name),
                    f"namespace {cronjob.namespace} is claimed by several projects "
                    f"({', '.join(shared[cronjob.namespace])}): "
                    "CronJob left alone",
                    why,
                    Result.FAILED,
                )
            )
            continue
        actions += plan_cronjob(cluster, cronjob, up=up, why=why)
    return actions


def plan_cronjob(cluster: ClusterId, cronjob: ObservedCronJob, *, up: bool, why: Why) -> list[Action]:
    """One CronJob: suspend and remember (down), or restore the remembered `suspend` (up)."""
    if cronjob.annotation_errors:
        # A garbled original must not be guessed at nor overwritten: left as it is until someone fixes it.
        return [
            Notice(
                cluster,
                _label(CRONJOB_RESOURCE, cronjob.namespace, cronjob.name),
                "; ".join(cronjob.annotation_errors) + ": CronJob left alone until the annotation is fixed",
                why,
                result=Result.FAILED,
            )
        ]
    original = cronjob.original_suspend
    if up:
        if original is None:
            return []
        return [_cronjob_change(cluster, cronjob, suspend=original, remember=None, direction=Direction.UP, why=why)]
    if cronjob.suspend:
        return []  # held already (by the app, or suspended by its team, which the morning leaves as it is)
    # Not suspended during downtime: first hold of the night, or unsuspended by hand since (keep the first original).
    remember: str | None | bool = "false" if original is None else False
    actions: list[Action] = [
        _cronjob_change(cluster, cronjob, suspend=True, remember=remember, direction=Direction.DOWN, why=why)
    ]
    if cronjob.active_jobs:
        actions.append(
            Notice(
                cluster,
                _label(CRONJOB_RESOURCE, cronjob.namespace, cronjob.name),
                f"{cronjob.active_jobs} Job(s) still running: left to finish (only new runs are suspended)",
                why,
            )
        )
    return actions


def _cronjob_change(
    cluster: ClusterId,
    cronjob: ObservedCronJob,
    *,
    suspend: bool,
    remember: str | None | bool,
    direction: Direction,
    why: Why,
) -> ObjectChange:
    # remember: the value to write, None to delete the annotation (merge-patch null), False to leave it.
    metadata: dict[str, object] = {"resourceVersion": cronjob.resource_version}
    if remember is not False:
        metadata["annotations"] = {ORIGINAL_SUSPEND: remember}
    return ObjectChange(
        cluster,
        CRONJOB_RESOURCE,
        cronjob.namespace,
        cronjob.name,
        {"metadata": metadata, "spec": {"suspend": suspend}},
        f"suspend={str(cronjob.suspend).lower()}",
        f"suspend={str(suspend).lower()}",
        direction,
        why,
    )
