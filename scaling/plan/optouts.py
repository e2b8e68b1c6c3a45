"""Per-workload opt-outs (pure): `aks-hours/exclude`, an own `aks-hours/uptime`, `aks-hours/min-replicas`.

What one workload should be, first rule that applies:
1. `aks-hours/exclude: "true"`: the app leaves it alone. If it still carries the app's bookkeeping (scaled
   down before someone excluded it), it gets that size back once (and its autoscalers are released), as
   kube-downscaler users asked (hjacobs/kube-downscaler#43); then nothing more.
2. an active override, targeted or project-wide: a person asked, with a reason and an expiry; that wins
   over a standing annotation.
3. `aks-hours/uptime`: the workload's own business hours instead of the project's, in the project grammar;
   entries without a zone use the project's time zone, and the project's holidays and closed dates apply.
4. the project's schedule.
Then, when the workload is to be down, `aks-hours/min-replicas: N` keeps min(N, its size) replicas
instead of 0 (except under a targeted override, which names its own outcome).

A desire here is anything with `up`, `why`, `replicas` (scaling.plan.decide.Desire): it is changed with
`dataclasses.replace`, so this module does not import the planner that calls it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import Field, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, ClassVar, Protocol, TypeVar

from scaling.annotations import EXCLUDE, MIN_REPLICAS, UPTIME
from scaling.model import Project, WorkloadRef
from scaling.names import ClusterId
from scaling.plan.actions import Action, Notice, Result, Trigger, Why
from scaling.plan.observed import ObservedCluster, ObservedWorkload
from scaling.schedule.hours import Schedule, parse


class DesireLike(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # a dataclass: changed with `replace`

    @property
    def up(self) -> bool: ...
    @property
    def why(self) -> Why: ...
    @property
    def replicas(self) -> int | None: ...


D = TypeVar("D", bound=DesireLike)
WorkloadPlanner = Callable[[ClusterId, ObservedWorkload, D], "Action | None"]


@lru_cache(maxsize=512)
def _parse(spec: str, timezone: str, holidays: str | None, closed_dates: str | None) -> Schedule:
    # Cached: every tick re-reads the same few annotations.
    return parse(uptime=spec, timezone=timezone, holidays=holidays, closed_dates=closed_dates)


def own_schedule(project: Project, spec: str) -> Schedule:
    """A workload's `aks-hours/uptime` read as the project would read it; ScheduleError (a ValueError) if bad."""
    return _parse(spec, project.spec.timezone, project.spec.holidays, project.spec.closed_dates)


def effective_desire(
    project: Project, workload: ObservedWorkload, desire: D, *, targeted: bool, now: datetime
) -> D | Notice:
    """`desire` (project-wide override or schedule, or a targeted override when `targeted`) with the
    workload's opt-outs applied (up for an excluded workload, so what the app held of it is given back);
    a Notice when its own uptime cannot be read (the workload is then left alone)."""
    if workload.excluded:
        # Up: whatever the app still holds of it (its size, its autoscalers) is given back.
        reason = f"{EXCLUDE}: left alone; anything the app held of it is given back"
        return replace(desire, up=True, replicas=None, why=Why(project.name, reason=reason))
    overridden = targeted or desire.why.trigger is Trigger.OVERRIDE
    if workload.own_uptime and not overridden:
        try:
            schedule = own_schedule(project, workload.own_uptime)
        except ValueError as error:
            return Notice(
                None,
                str(workload.ref),
                f"{UPTIME} {workload.own_uptime!r} cannot be read, left alone: {error}",
                desire.why,
                Result.FAILED,
            )
        up = schedule.is_up(now)
        state = "own business hours" if up else "outside its own business hours"
        desire = replace(desire, up=up, replicas=None, why=Why(project.name, reason=f"{state} ({UPTIME}: {schedule})"))
    if not desire.up and desire.replicas is None and workload.min_replicas and not targeted:
        size = workload.original_replicas if workload.original_replicas is not None else workload.replicas
        keep = min(workload.min_replicas, size)
        if keep > 0:
            why = desire.why
            desire = replace(
                desire, replicas=keep, why=replace(why, reason=f"{why.reason}; {MIN_REPLICAS} keeps {keep}")
            )
    return desire


def own_warmup(project: Project, workload: ObservedWorkload, now: datetime) -> Why | None:
    """Why the workload's node pool comes up now although the workload is still down: its own business
    hours (`aks-hours/uptime`) start within the project's warm-up. None otherwise, or if unreadable."""
    if project.warmup_minutes <= 0 or not workload.own_uptime or workload.excluded:
        return None
    try:
        schedule = own_schedule(project, workload.own_uptime)
    except ValueError:
        return None  # reported by effective_desire
    start = schedule.next_change(now)
    if schedule.is_up(now) or start is None or start > now + timedelta(minutes=project.warmup_minutes):
        return None
    local = start.astimezone(schedule.zone)
    return Why(
        project.name,
        reason=f"warm-up {project.warmup_minutes} min: {workload.ref} own business hours"
        f" start {local:%Y-%m-%d %H:%M %Z} ({UPTIME})",
    )


def plan_workload(
    cluster: ClusterId,
    project: Project,
    workload: ObservedWorkload,
    desire: D,
    *,
    targeted: bool,
    now: datetime,
    planner: WorkloadPlanner[D],
    autoscaled: bool = False,
) -> tuple[D | None, list[Action]]:
    """The opt-outs around one workload planner (scaling.plan.decide.plan_scalable): the effective desire (None:
    hands off, for the workload and its autoscalers) and the workload's actions. An excluded workload is
    planned only to give back a size the app remembered on it; its effective desire is up.

    `autoscaled`: an HPA or ScaledObject owns the workload's count in business hours, so finding it at 0
    then (an idle KEDA consumer) is normal and not reported."""
    if workload.annotation_errors:
        # The planner reports them (also for a workload that a misspelt exclude made excluded); the
        # autoscalers of an unreadable workload are left alone with it.
        action = planner(cluster, replace(workload, excluded=False), desire)
        reported = [action] if action is not None else []
        if desire.up and desire.replicas is None and workload.original_replicas is not None:
            # Giving a readable remembered size back is safe whatever the unreadable opt-out meant
            # (exclude, own hours and min-replicas all restore it in business hours); only scaling down
            # waits until the annotations are fixed. Its autoscalers are released with it.
            restore = planner(cluster, replace(workload, excluded=False, annotation_errors=()), desire)
            return desire, reported + ([restore] if restore is not None else [])
        return None, reported
    effective = effective_desire(project, workload, desire, targeted=targeted, now=now)
    if isinstance(effective, Notice):
        return None, [replace(effective, cluster=cluster)]
    if workload.excluded:
        if workload.original_replicas is None:
            return effective, []
        workload = replace(workload, excluded=False)  # only here to give its remembered size back
    if autoscaled and effective.up and effective.replicas is None and workload.original_replicas is None:
        return effective, []
    action = planner(cluster, workload, effective)
    return effective, [action] if action is not None else []


def autoscaled_workloads(seen: ObservedCluster) -> frozenset[WorkloadRef]:
    """Workloads an HPA or a ScaledObject targets."""
    return frozenset(h.target for h in seen.hpas) | frozenset(s.target for s in seen.scaled_objects)
