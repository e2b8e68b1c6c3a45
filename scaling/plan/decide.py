"""The decision of one tick (pure, no I/O, no clock): desired state vs observed state -> ordered actions.

`plan(projects, overrides, observed, now)` returns changes (ObjectChange, PoolChange) and notices (things
reported but not changed), sorted by `sort_key`: per cluster, by `Phase`, then by target. Clusters are
independent; within one cluster the executor runs the phases in order and may run one phase's writes in
parallel:

    REPORT            notices, nothing to write
    WORKLOADS_DOWN    going down, workloads first (frees capacity, and no pod is killed by a vanishing node)
    AUTOSCALERS_DOWN  then HPAs pinned, ScaledObjects paused, CronJobs suspended (scaling/plan/autoscalers.py:
                      after the target's size is remembered on it, so no controller can race that patch)
    POOLS_UP          going up, node pools first (the ARM operation is started, not awaited)...
    AUTOSCALERS_UP    ...then HPAs, ScaledObjects and CronJobs get back what they had (a released HPA is
                      still disabled by its zero target; a still-pinned one would clamp the restore)...
    WORKLOADS_UP      ...then the workloads that run on them
    POOLS_DOWN        going down, node pools last

Per-workload opt-outs (exclude, own uptime, min-replicas) are applied by scaling/plan/optouts.py.

Desired state per project = its active override, else its schedule. Node pools are up while the
project is up *or* business hours start within `WarmupMinutes` (slow GPU nodes); a pool is also held up
while a targeted override keeps a workload running on it. A targeted override wins over a project-wide
one for its workload.

Dry-run is not decided here: a dry-run project gets the same changes, and the executor records them as
`dry-run` instead of writing (scaling/reconcile.py checks `Project.dry_run` and `Settings.dry_run`).
Idempotent: when observed already matches desired, only notices (if any) come back, never a change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import IntEnum

from scaling.annotations import ORIGINAL_REPLICAS, OWNER
from scaling.model import Project, WorkloadKind, WorkloadRef, WorkloadSelector
from scaling.names import ClusterId
from scaling.override import Override, OverrideAction
from scaling.plan.actions import Action, Direction, Notice, ObjectChange, PoolChange, Result, Trigger, Why
from scaling.plan.autoscalers import RESOURCES as AUTOSCALER_RESOURCES
from scaling.plan.autoscalers import TargetPlan, plan_autoscalers, plan_cronjobs, shared_namespaces, target_plan
from scaling.plan.observed import ObservedCluster, ObservedWorkload
from scaling.plan.optouts import autoscaled_workloads, own_warmup, plan_workload
from scaling.plan.pools import plan_pool
from scaling.plan.release import Rows, plan_releases

UTC = UTC

# kubectl's `plural.group` of each workload kind (the keys of runscript.READ_RESOURCES' values).
RESOURCE = {WorkloadKind.DEPLOYMENT: "deployments.apps", WorkloadKind.STATEFULSET: "statefulsets.apps"}


class Phase(IntEnum):
    REPORT = 0
    WORKLOADS_DOWN = 1
    AUTOSCALERS_DOWN = 2
    POOLS_UP = 3
    AUTOSCALERS_UP = 4
    WORKLOADS_UP = 5
    POOLS_DOWN = 6


def phase_of(action: Action) -> Phase:
    if isinstance(action, Notice):
        return Phase.REPORT
    up = action.direction is Direction.UP
    if isinstance(action, PoolChange):
        return Phase.POOLS_UP if up else Phase.POOLS_DOWN
    if action.resource in AUTOSCALER_RESOURCES:
        return Phase.AUTOSCALERS_UP if up else Phase.AUTOSCALERS_DOWN
    return Phase.WORKLOADS_UP if up else Phase.WORKLOADS_DOWN


def sort_key(action: Action) -> tuple[object, ...]:
    cluster = action.cluster
    return (
        (cluster.subscription, cluster.resource_group, cluster.name) if cluster else (),
        int(phase_of(action)),
        action.target,
        action.why.project,
    )


@dataclass(frozen=True)
class Desire:
    """What one project (or one workload of it) should be: up or down, or exactly `replicas`."""

    up: bool
    why: Why
    replicas: int | None = None


def plan(
    projects: Sequence[Project],
    overrides: Sequence[Override],
    observed: Mapping[ClusterId, ObservedCluster],
    now: datetime,
    *,
    rows: Rows | None = None,
) -> list[Action]:
    """Every action due at `now` (timezone-aware), ordered by `sort_key`. Disabled projects are not
    scheduled; with `rows` (the whole table), what no enabled project claims is released in every observed
    cluster (scaling/plan/release.py); without, nothing is released."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"plan: now={now.isoformat()} is naive; pass a timezone-aware datetime")
    now = now.astimezone(UTC)  # so `now + warm-up` counts real minutes, also across a DST change
    active = {(o.project, o.target): o for o in sorted(overrides, key=lambda o: o.created) if o.active(now)}
    by_cluster: dict[ClusterId, list[Project]] = defaultdict(list)
    for project in projects:
        if project.enabled:
            by_cluster[project.cluster].append(project)
    if rows is not None:
        for cluster, seen_only in observed.items():
            if cluster not in by_cluster and seen_only.error is None:
                by_cluster[cluster] = []  # only releases: every project of it is disabled
    actions: list[Action] = []
    for cluster, members in by_cluster.items():
        seen = observed.get(cluster)
        if seen is None or seen.error is not None:
            problem = "cluster was not observed this tick" if seen is None else seen.error
            actions += [
                Notice(cluster, "cluster", f"no change: {problem}", Why(p.name), Result.FAILED) for p in members
            ]
            continue
        actions += _plan_cluster(seen, members, active, now, rows)
    return sorted(actions, key=sort_key)


# -- desired state ------------------------------------------------------------------------------------


def project_desire(project: Project, override: Override | None, now: datetime) -> Desire:
    """The project's workloads: the project-wide override if active, else the schedule at `now`."""
    if override is not None:
        return Desire(override.action is OverrideAction.UP, _override_why(override))
    up = project.schedule.is_up(now)
    state = "business hours" if up else "outside business hours"
    return Desire(up, Why(project.name, reason=f"{state} ({project.schedule})"))


def pool_desire(project: Project, override: Override | None, now: datetime) -> Desire:
    """The project's node pools: like its workloads, but up `warmup_minutes` before business hours.

    Up when the project is up now or its next change (necessarily to up) is within the warm-up. Not
    `is_up(now + warm-up)` alone: that would also take the pools down warm-up minutes before the
    workloads on them."""
    desire = project_desire(project, override, now)
    if desire.up or override is not None or project.warmup_minutes <= 0:
        return desire
    start = project.schedule.next_change(now)
    if start is None or start > now + timedelta(minutes=project.warmup_minutes):
        return desire
    local = start.astimezone(project.schedule.zone)
    reason = f"warm-up {project.warmup_minutes} min: business hours start {local:%Y-%m-%d %H:%M %Z}"
    return Desire(True, Why(project.name, reason=reason))


def workload_desire(project_wide: Desire, override: Override | None) -> Desire:
    if override is None:
        return project_wide
    if override.action is OverrideAction.REPLICAS:
        return Desire(override.wants_up, _override_why(override), replicas=override.replicas)
    return Desire(override.action is OverrideAction.UP, _override_why(override))


def _override_why(override: Override) -> Why:
    until = override.until.astimezone(UTC)
    return Why(
        override.project,
        Trigger.OVERRIDE,
        override.actor,
        f"{override.reason} (override until {until:%Y-%m-%d %H:%M}Z)",
    )


# -- one cluster --------------------------------------------------------------------------------------


def _plan_cluster(
    seen: ObservedCluster,
    members: list[Project],
    active: Mapping[tuple[str, WorkloadRef | None], Override],
    now: datetime,
    rows: Rows | None = None,
) -> list[Action]:
    cluster = seen.cluster
    desires = {p.name: project_desire(p, active.get((p.name, None)), now) for p in members}
    actions: list[Action] = []
    owned: dict[str, list[ObservedWorkload]] = defaultdict(list)
    for workload in seen.workloads:
        owners = [p for p in members if p.manages(workload.ref)]
        if len(owners) > 1:
            names = ", ".join(sorted(p.name for p in owners))
            actions += [
                Notice(
                    cluster,
                    str(workload.ref),
                    f"claimed by several projects ({names}): left alone",
                    Why(p.name),
                    Result.FAILED,
                )
                for p in owners
            ]
        elif owners:
            owned[owners[0].name].append(workload)
        elif workload.original_replicas is not None:
            # Named in a project's Exclude column while the app held it down: given back once, like the
            # aks-hours/exclude annotation, then left alone. Only on that explicit word: a workload merely
            # no longer listed may belong to a project that is disabled or whose row did not load.
            selector = WorkloadSelector(workload.ref.kind, workload.ref.name)
            excluding = [p for p in members if workload.ref.namespace in p.namespaces and selector in p.exclude]
            if len(excluding) == 1:
                owned[excluding[0].name].append(replace(workload, excluded=True))

    pools_held_up: dict[str, dict[str, Why]] = defaultdict(dict)
    autoscaled, shared = autoscaled_workloads(seen), shared_namespaces(members)
    # KEDA holds a paused target at the paused count: scaling it would flap every tick. Someone else's
    # pause (not the app's own) makes KEDA, and whoever paused it, the owner of that workload's count.
    paused_by_others = {
        s.target: s for s in seen.scaled_objects if s.paused_replicas is not None and not s.paused_by_app
    }
    targets: dict[WorkloadRef, TargetPlan] = {}
    for project in members:
        refs = {w.ref for w in owned[project.name]}
        actions += _missing_workloads(cluster, project, seen)
        for (name, target), override in active.items():
            if name == project.name and target is not None and target not in refs:
                actions.append(
                    Notice(
                        cluster,
                        str(target),
                        "override target is not a workload of this project in the cluster",
                        _override_why(override),
                    )
                )
        for workload in owned[project.name]:
            paused = paused_by_others.get(workload.ref)
            if paused is not None and not workload.excluded:
                actions.append(
                    Notice(
                        cluster,
                        str(workload.ref),
                        f"scaledobject/{paused.namespace}/{paused.name} is paused by someone else at "
                        f"{paused.paused_replicas!r}: KEDA holds the count there, "
                        "so aks-hours leaves this workload alone",
                        desires[project.name].why,
                    )
                )
                if workload.replicas and workload.node_pool:
                    pools_held_up[project.name].setdefault(workload.node_pool, desires[project.name].why)
                continue
            targeted = active.get((project.name, workload.ref))
            desire, found = plan_workload(
                cluster,
                project,
                workload,
                workload_desire(desires[project.name], targeted),
                targeted=targeted is not None,
                now=now,
                planner=WORKLOAD_PLANNERS[workload.ref.kind],
                autoscaled=workload.ref in autoscaled,
            )
            actions += found
            if desire is None:
                continue  # left alone, and its autoscalers with it
            targets[workload.ref] = target_plan(up=desire.up, replicas=desire.replicas, why=desire.why)
            # Kept running while the project is down (override, own uptime, min-replicas): its pool stays up.
            if (desire.up or desire.replicas) and workload.node_pool and not workload.excluded:
                pools_held_up[project.name].setdefault(workload.node_pool, desire.why)
            elif workload.node_pool and desire.why.trigger is not Trigger.OVERRIDE:
                warming = own_warmup(project, workload, now)  # its own hours start soon: nodes first
                if warming is not None:
                    pools_held_up[project.name].setdefault(workload.node_pool, warming)
        project_wide = desires[project.name]
        actions += plan_cronjobs(project, up=project_wide.up, seen=seen, why=project_wide.why, shared=shared)

    released = plan_releases(
        seen,
        members,
        rows,
        now,
        restore=lambda c, w, why: plan_scalable(c, w, Desire(True, why)),
        claimed=[w.ref for ws in owned.values() for w in ws],
    )
    actions += released.actions
    targets = {**released.targets, **targets}
    actions += plan_autoscalers(cluster, seen, targets)
    actions += _plan_pools(seen, members, active, pools_held_up, now)
    return actions


def _missing_workloads(cluster: ClusterId, project: Project, seen: ObservedCluster) -> Iterable[Notice]:
    for selector in project.workloads:
        if not any(
            w.ref.kind is selector.kind and w.ref.name == selector.name and w.ref.namespace in project.namespaces
            for w in seen.workloads
        ):
            yield Notice(
                cluster,
                str(selector),
                f"listed in Workloads but not found in namespaces {', '.join(project.namespaces)}",
                Why(project.name),
            )


def _plan_pools(
    seen: ObservedCluster,
    members: list[Project],
    active: Mapping[tuple[str, WorkloadRef | None], Override],
    held_up: Mapping[str, Mapping[str, Why]],
    now: datetime,
) -> list[Action]:
    cluster = seen.cluster
    claims: dict[str, list[Project]] = defaultdict(list)
    for project in members:
        for name in dict.fromkeys(project.node_pools):
            claims[name].append(project)
    actions: list[Action] = []
    for name, owners in claims.items():
        target = f"nodepool/{name}"
        if len(owners) > 1:
            names = ", ".join(sorted(p.name for p in owners))
            actions += [
                Notice(cluster, target, f"listed by several projects ({names}): left alone", Why(p.name), Result.FAILED)
                for p in owners
            ]
            continue
        project = owners[0]
        pool = seen.pool(name)
        if pool is None:
            actions.append(
                Notice(cluster, target, "listed in NodePools but not found in the cluster", Why(project.name))
            )
            continue
        desire = pool_desire(project, active.get((project.name, None)), now)
        hold = held_up.get(project.name, {}).get(name)
        if not desire.up and hold is not None:
            desire = Desire(True, hold)
        action = plan_pool(cluster, pool, action=project.node_pool_action, up=desire.up, why=desire.why)
        if action is not None:
            actions.append(action)
    return actions


# -- workloads, one planner per kind ---------------------------------------------------------------------


def plan_scalable(cluster: ClusterId, workload: ObservedWorkload, desire: Desire) -> Action | None:
    """A Deployment or StatefulSet: one merge patch that moves `spec.replicas` and its remembered
    original (annotation ORIGINAL_REPLICAS) together, guarded by `resourceVersion`."""
    ref, replicas, original = workload.ref, workload.replicas, workload.original_replicas
    if workload.excluded:
        return None
    if workload.annotation_errors:
        return Notice(
            cluster,
            str(ref),
            "annotations unreadable, left alone: " + "; ".join(workload.annotation_errors),
            desire.why,
            Result.FAILED,
        )

    def change(to: int, annotation: str | None | bool, direction: Direction) -> ObjectChange:
        # annotation: a value to remember, None to delete it (merge-patch null), False to leave it.
        metadata: dict[str, object] = {"resourceVersion": workload.resource_version}
        if annotation is not False:
            # The owner travels with the remembered size: a release says whose it was (scaling/plan/release.py).
            owner = None if annotation is None else desire.why.project
            metadata["annotations"] = {ORIGINAL_REPLICAS: annotation, OWNER: owner}
        return ObjectChange(
            cluster,
            RESOURCE[ref.kind],
            ref.namespace,
            ref.name,
            {"metadata": metadata, "spec": {"replicas": to}},
            str(replicas),
            str(to),
            direction,
            desire.why,
        )

    if desire.replicas is not None:
        if replicas == desire.replicas:
            return None
        remember = str(replicas) if original is None else False
        return change(desire.replicas, remember, Direction.UP if desire.replicas > replicas else Direction.DOWN)
    if desire.up:
        if original is not None:
            # Exactly the remembered count, annotation removed in the same request (also when the count
            # already matches, so the next downtime remembers afresh).
            return change(original, None, Direction.UP)
        if replicas == 0:
            return Notice(
                cluster, str(ref), "at 0 during business hours with no remembered size: left alone", desire.why
            )
        return None
    if replicas == 0:
        return None
    if original is not None:
        # Scaled up by hand (or by an expired override) during downtime: back to 0, but keep the size
        # remembered at the first scale-down; the manual count is not what the morning should restore.
        return change(0, False, Direction.DOWN)
    return change(0, str(replicas), Direction.DOWN)


# Issue 10 adds HPAs, ScaledObjects and CronJobs as further planners of the same shape.
WORKLOAD_PLANNERS: Mapping[WorkloadKind, Callable[[ClusterId, ObservedWorkload, Desire], Action | None]] = {
    WorkloadKind.DEPLOYMENT: plan_scalable,
    WorkloadKind.STATEFULSET: plan_scalable,
}
