"""Releasing what no enabled project claims any longer (pure): nothing stays down without an owner.

A workload, an autoscaler, a CronJob or a node pool still carrying the app's originals (annotations, tags)
although no enabled project's current columns claim it is *released*: restored exactly as it was, in the
morning order of the other changes (scaling/plan/decide.py phases: pools first, autoscalers before their
workloads), audited with the reason, then left alone (it carries nothing of the app's any more).

    released: project disabled   its owner's row says Enabled: false
    released: project deleted    its owner's row is gone
    released: no longer listed   its owner's row no longer names it (Workloads, Namespaces, NodePools)

The owner is the project named on the object (`aks-hours/project`, tag `aks-hours-project`, written with
the remembered size). An object scaled down before the owner was written counts as owned by the disabled
project whose columns claim it, else as no longer listed.

When. The owner's `Release` column: `now` (default; also for a deleted row) at the next tick, `at-opening`
when the owner's schedule next opens (its pools at the warm-up), reported until then. Never released:
what belongs to a row that did not load (a typo must not start GPU pools at night), and, while any row
does not load, what names no owner. `Rows` is None when the table is not known (a plan without it
releases nothing).

Orphans are the app's originals in a namespace or on a pool that no row names at all (`orphans`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from scaling.model import Project, Release, WorkloadRef
from scaling.names import ClusterId
from scaling.plan.actions import Action, Direction, Notice, PoolChange, Result, Why
from scaling.plan.autoscalers import TargetPlan, plan_cronjob
from scaling.plan.observed import ObservedCluster, ObservedPool, ObservedWorkload, PoolSize
from scaling.plan.pools import describe, without_bookkeeping

DISABLED = "project disabled"
DELETED = "project deleted"
UNLISTED = "no longer listed"
RELEASER = "release"  # the audit actor of a release
UNOWNED = "_unowned"  # audit partition of a release with no project to file it under (never a DNS label)


@dataclass(frozen=True)
class Rows:
    """What the Projects table holds: every row that loaded (enabled or not) and the names of those that did not."""

    projects: tuple[Project, ...] = ()
    unreadable: frozenset[str] = field(default_factory=frozenset)

    def named(self, name: str | None) -> Project | None:
        return next((p for p in self.projects if p.name == name), None)


@dataclass(frozen=True)
class Owner:
    """Whose an unclaimed object was, and so why and when it is released."""

    reason: str
    project: Project | None  # its row, when it still loads (its Release column and schedule decide when)
    name: str | None

    def why(self, *, at_opening: bool = False) -> Why:
        reason = f"released: {self.reason}" + (" (Release: at-opening)" if at_opening else "")
        return Why(self.name or UNOWNED, actor=RELEASER, reason=reason)


@dataclass(frozen=True)
class ReleasePlan:
    """The actions of the releases in one cluster, and the workloads whose autoscalers follow them."""

    actions: list[Action]
    targets: dict[WorkloadRef, TargetPlan]


def plan_releases(
    seen: ObservedCluster,
    members: Sequence[Project],
    rows: Rows | None,
    now: datetime,
    *,
    restore: Callable[[ClusterId, ObservedWorkload, Why], Action | None],
    claimed: Iterable[WorkloadRef] = (),
) -> ReleasePlan:
    """Releases due in `seen` at `now`. `members`: the cluster's enabled projects; `claimed`: workloads a
    member decided on (or left alone on purpose) this tick, never released; `restore`: the planner's patch
    giving a workload its remembered size back (scaling.plan.decide.plan_scalable, passed in as decide
    imports this module)."""
    if rows is None:
        return ReleasePlan([], {})
    cluster, taken = seen.cluster, set(claimed)
    namespaces = {ns for p in members for ns in p.namespaces}
    actions: list[Action] = []
    targets: dict[WorkloadRef, TargetPlan] = {}
    for workload in seen.workloads:
        if workload.original_replicas is None or workload.ref in taken or any(p.manages(workload.ref) for p in members):
            continue
        owner = _owner(workload.owner, rows, cluster, claims=_managing(workload.ref))
        why = _due(cluster, str(workload.ref), owner, rows, now, pools=False, out=actions)
        if why is None:
            continue
        # Giving a readable remembered size back is safe whatever else its annotations say.
        action = restore(cluster, replace(workload, excluded=False, annotation_errors=()), why)
        if action is not None:
            actions.append(action)
        targets[workload.ref] = TargetPlan(None, why)
    # Autoscalers held around a workload nobody claims (its own size already back, or gone): released too.
    held = [(h.target, h.namespace) for h in seen.hpas if h.original_min is not None or h.original_max is not None]
    held += [(s.target, s.namespace) for s in seen.scaled_objects if s.paused_by_app]
    for target, namespace in held:
        if target in targets or target in taken or namespace in namespaces:
            continue
        owner = _owner(None, rows, cluster, claims=_naming_namespace(namespace))
        why = _due(cluster, str(target), owner, rows, now, pools=False, out=actions)
        if why is not None:
            targets[target] = TargetPlan(None, why)
    for cronjob in seen.cronjobs:
        if cronjob.original_suspend is None or cronjob.namespace in namespaces:
            continue
        label = f"cronjob/{cronjob.namespace}/{cronjob.name}"
        owner = _owner(None, rows, cluster, claims=_naming_namespace(cronjob.namespace))
        why = _due(cluster, label, owner, rows, now, pools=False, out=actions)
        if why is not None:
            actions += plan_cronjob(cluster, cronjob, up=True, why=why)
    listed = {name for p in members for name in p.node_pools}
    for pool in seen.pools:
        if pool.name in listed or (pool.original is None and not pool.tag_errors):
            continue
        owner = _owner(pool.owner, rows, cluster, claims=_naming_pool(pool.name))
        why = _due(cluster, f"nodepool/{pool.name}", owner, rows, now, pools=True, out=actions)
        if why is not None:
            actions.append(release_pool(cluster, pool, why))
    return ReleasePlan(actions, targets)


def release_pool(cluster: ClusterId, pool: ObservedPool, why: Why) -> PoolChange | Notice:
    """The PUT giving a pool back its remembered size (or why it cannot be given yet)."""
    target = f"nodepool/{pool.name}"
    if pool.tag_errors or pool.original is None:
        message = "bookkeeping tags unreadable, pool not released: " + "; ".join(pool.tag_errors)
        return Notice(cluster, target, message, why, Result.FAILED)
    if pool.busy:
        return Notice(
            cluster, target, f"release due but the pool is {pool.provisioning_state}: next tick", why, Result.BUSY
        )
    return PoolChange(cluster, pool.name, pool.size, pool.original, without_bookkeeping(pool.tags), Direction.UP, why)


def _managing(ref: WorkloadRef) -> Callable[[Project], bool]:
    return lambda project: project.manages(ref)


def _naming_namespace(namespace: str) -> Callable[[Project], bool]:
    return lambda project: namespace in project.namespaces


def _naming_pool(name: str) -> Callable[[Project], bool]:
    return lambda project: name in project.node_pools


def _owner(name: str | None, rows: Rows, cluster: ClusterId, *, claims: Callable[[Project], bool]) -> Owner:
    """Whose it was: the named owner's row, else the disabled row on this cluster whose columns claim it."""
    if name is not None:
        project = rows.named(name)
        if project is None:
            return Owner(DELETED, None, name)
        return Owner(UNLISTED if project.enabled else DISABLED, project, name)
    for project in rows.projects:
        if not project.enabled and project.cluster == cluster and claims(project):
            return Owner(DISABLED, project, project.name)
    return Owner(UNLISTED, None, None)


def _due(
    cluster: ClusterId, target: str, owner: Owner, rows: Rows, now: datetime, *, pools: bool, out: list[Action]
) -> Why | None:
    """The Why of a release due now, or None with the reason it waits appended to `out`."""
    if owner.name is not None and owner.name in rows.unreadable:
        out.append(
            Notice(
                cluster,
                target,
                f"held by project {owner.name}, whose row does not load: not released until the row is fixed",
                Why(owner.name, actor=RELEASER),
                Result.FAILED,
            )
        )
        return None
    if owner.name is None and rows.unreadable:
        out.append(
            Notice(
                cluster,
                target,
                "held with no project named on it while rows do not load "
                f"({', '.join(sorted(rows.unreadable))}): not released until they are fixed",
                owner.why(),
                Result.FAILED,
            )
        )
        return None
    project = owner.project
    if project is None or project.release is Release.NOW:
        return owner.why()
    opening = _opening(project, now, pools=pools)
    if opening is None:
        return owner.why(at_opening=True)
    local = opening.astimezone(project.schedule.zone)
    out.append(
        Notice(
            cluster,
            target,
            f"to be released at the project's next opening {local:%Y-%m-%d %H:%M %Z} (Release: at-opening)",
            owner.why(at_opening=True),
        )
    )
    return None


def _opening(project: Project, now: datetime, *, pools: bool) -> datetime | None:
    """None when the project's schedule is open now (for pools: or opens within its warm-up); else when it opens."""
    schedule = project.schedule
    if schedule.is_up(now):
        return None
    start: datetime | None = schedule.next_change(now)
    if start is None:
        return datetime.max.replace(tzinfo=now.tzinfo)  # never opens: the release waits for a person
    if pools and start <= now + timedelta(minutes=project.warmup_minutes):
        return None
    return start


def orphans(seen: ObservedCluster, rows: Rows) -> list[str]:
    """Targets carrying the app's originals in a namespace or on a pool that no row (enabled or not) names."""
    cluster = seen.cluster
    on_cluster = [p for p in rows.projects if p.cluster == cluster]
    namespaces = {ns for p in on_cluster for ns in p.namespaces}
    pools = {name for p in on_cluster for name in p.node_pools}
    found = [
        str(w.ref) for w in seen.workloads if w.original_replicas is not None and w.ref.namespace not in namespaces
    ]
    found += [
        f"cronjob/{c.namespace}/{c.name}"
        for c in seen.cronjobs
        if c.original_suspend is not None and c.namespace not in namespaces
    ]
    found += [f"nodepool/{p.name}" for p in seen.pools if p.original is not None and p.name not in pools]
    return sorted(found)


def gpu_pool(pool: ObservedPool) -> bool:
    """An N-series VM size (NC, ND, NV: NVIDIA or AMD GPUs), e.g. Standard_NC4as_T4_v3."""
    family = pool.vm_size.lower().removeprefix("standard_")
    return family[:1] == "n" and family[1:2] in ("c", "d", "v")


def described(pool: ObservedPool) -> str:
    return f"{pool.name} ({pool.vm_size}, {describe(pool.original) if pool.original else '?'})"


def plan_explicit(
    seen: ObservedCluster,
    rows: Rows,
    *,
    project: str | None,
    orphaned: bool,
    why: Why,
    restore: Callable[[ClusterId, ObservedWorkload, Why], Action | None],
) -> ReleasePlan:
    """A person's release (`python -m scaling release`): everything of `project` (named on it, or in its
    row's columns) and/or, with `orphaned`, every hold in a namespace or on a pool no row names; now,
    whatever the rows say. Autoscalers follow their workloads (the caller plans them from `targets`)."""
    cluster = seen.cluster
    row = rows.named(project) if project is not None else None
    on_cluster = [p for p in rows.projects if p.cluster == cluster]
    named_namespaces = {ns for p in on_cluster for ns in p.namespaces}
    named_pools = {name for p in on_cluster for name in p.node_pools}

    def mine(owner: str | None, claimed: bool) -> bool:
        return project is not None and (owner == project or (owner is None and claimed))

    def reason(owner: str | None) -> Why:
        return replace(why, project=owner or project or UNOWNED)

    actions: list[Action] = []
    targets: dict[WorkloadRef, TargetPlan] = {}
    for workload in seen.workloads:
        if workload.original_replicas is None:
            continue
        claimed = row is not None and row.cluster == cluster and row.manages(workload.ref)
        if mine(workload.owner, claimed) or (orphaned and workload.ref.namespace not in named_namespaces):
            action = restore(cluster, replace(workload, excluded=False, annotation_errors=()), reason(workload.owner))
            if action is not None:
                actions.append(action)
            targets[workload.ref] = TargetPlan(None, reason(workload.owner))
    chosen_namespaces = set(row.namespaces) if row is not None and row.cluster == cluster else set()
    held = [(h.target, h.namespace) for h in seen.hpas if h.original_min is not None or h.original_max is not None]
    held += [(s.target, s.namespace) for s in seen.scaled_objects if s.paused_by_app]
    for target, namespace in held:
        if target not in targets and (
            namespace in chosen_namespaces or (orphaned and namespace not in named_namespaces)
        ):
            targets[target] = TargetPlan(None, reason(None))
    for cronjob in seen.cronjobs:
        if cronjob.original_suspend is not None and (
            cronjob.namespace in chosen_namespaces or (orphaned and cronjob.namespace not in named_namespaces)
        ):
            actions += plan_cronjob(cluster, cronjob, up=True, why=reason(None))
    for pool in seen.pools:
        if pool.original is None and not pool.tag_errors:
            continue
        claimed = row is not None and row.cluster == cluster and pool.name in row.node_pools
        if mine(pool.owner, claimed) or (orphaned and pool.name not in named_pools):
            actions.append(release_pool(cluster, pool, reason(pool.owner)))
    return ReleasePlan(actions, targets)


def gpu_warning(
    pools: Iterable[tuple[ObservedPool, PoolSize]], *, hourly: Callable[[str], float | None], currency: str, when: str
) -> str | None:
    """`applying this releases 2 GPU pools now (about USD 1.05/h): gpu (Standard_NC4as_T4_v3, 1 node), ...`
    for the GPU pools among (pool, size it gets back); None when there is none. `hourly`: VM size -> price
    per node-hour, None when unknown (the figure then says so)."""
    gpus = [(pool, size) for pool, size in pools if gpu_pool(pool)]
    if not gpus:
        return None
    total, unknown = 0.0, False
    parts = []
    for pool, size in gpus:
        nodes = 0 if size.power_state == "Stopped" else size.count  # an autoscaled pool restarts at its count
        price = hourly(pool.vm_size)
        if price is None:
            unknown = True
        else:
            total += price * nodes
        parts.append(f"{pool.name} ({pool.vm_size}, {nodes} node{'s' if nodes != 1 else ''})")
    cost = f"about {currency} {total:.2f}/h" + (", some sizes unpriced" if unknown else "")
    noun = "GPU pool" if len(gpus) == 1 else "GPU pools"
    return f"applying this releases {len(gpus)} {noun} {when} ({cost}): {', '.join(parts)}"
