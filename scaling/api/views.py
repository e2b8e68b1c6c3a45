"""What the API shows, computed from projects, observations, overrides and the clock (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta

from scaling.api.errors import ApiError
from scaling.api.models import (
    ZERO_TIME,
    AuditView,
    DeploymentState,
    DeploymentStatus,
    OverrideView,
    PoolView,
    ProjectView,
    TransitionView,
    WorkloadView,
    rfc3339,
)
from scaling.model import Project, WorkloadRef
from scaling.override import Override, OverrideAction, OverrideError, new_override
from scaling.plan.observed import ObservedCluster, ObservedWorkload
from scaling.settings import Settings

UTC = UTC
# The years a query may name: nothing the app records is older than the Unix epoch, and day arithmetic
# near datetime's limits (years 1 and 9999) overflows. The savings report's months use the same range.
FIRST_YEAR, LAST_YEAR = 1970, 9000


def check_year(value: date | None, where: str) -> None:
    """400 naming `where` when `value` (a date or datetime) lies outside FIRST_YEAR..LAST_YEAR."""
    if value is not None and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ApiError(
            400, "Invalid request", f"{where} {value.isoformat()}: the year must be within {FIRST_YEAR}-{LAST_YEAR}"
        )


def check_until(until: datetime | None, now: datetime, max_hours: int) -> datetime | None:
    """A requested override end: in the future and at most `max_hours` ahead (400 otherwise)."""
    if until is None:
        return None
    if until <= now:
        raise ApiError(400, "Invalid request", f"until {until.isoformat()} is not in the future")
    if until > now + timedelta(hours=max_hours):
        raise ApiError(
            400,
            "Invalid request",
            f"until {until.isoformat()} is more than {max_hours} hours ahead (SCALING_MAX_OVERRIDE_HOURS)",
        )
    return until.astimezone(UTC)


def to_override(
    project: Project,
    action: OverrideAction | str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    until: datetime | str | None,
    settings: Settings,
    duration: str | None = None,
    target: WorkloadRef | None = None,
    replicas: int | None = None,
) -> Override:
    """A validated override (scaling.storage.overrides.new_override): `until` defaults to the project's next
    schedule change, capped at SCALING_MAX_OVERRIDE_HOURS. A rule it breaks is a 400."""
    try:
        return new_override(
            project,
            action,
            reason=reason,
            actor=actor,
            now=now,
            max_hours=settings.max_override_hours,
            until=until,
            duration=duration,
            target=target,
            replicas=replicas,
            max_replicas=settings.max_replicas,
        )
    except OverrideError as error:
        raise ApiError(400, "Invalid request", str(error)) from None


def active_for(
    overrides: Iterable[Override], project: str, target: WorkloadRef | None, now: datetime
) -> Override | None:
    """The newest active override of `project` for exactly `target` (None: the project-wide one)."""
    matching = [o for o in overrides if o.project == project and o.target == target and o.active(now)]
    return max(matching, key=lambda o: o.created) if matching else None


def override_view(override: Override | None) -> OverrideView | None:
    if override is None:
        return None
    return OverrideView(
        project=override.project,
        target=str(override.target) if override.target else None,
        action=override.action.value,
        replicas=override.replicas,
        until=override.until,
        reason=override.reason,
        actor=override.actor,
        created=override.created,
    )


def transition_view(project: Project, now: datetime) -> TransitionView | None:
    change = project.schedule.next_change(now)
    if change is None:
        return None
    return TransitionView(
        at_utc=change,
        at_local=change.astimezone(project.schedule.zone).isoformat(),
        up=project.schedule.is_up(change),
    )


def recent_failures(rows: Iterable[AuditView], project: str, limit: int = 3) -> list[str]:
    """The project's latest failed / busy audit rows (newest first) whose target has not succeeded since."""
    settled: set[str] = set()
    found: list[str] = []
    for row in rows:
        if row.project != project or row.target in settled:
            continue
        settled.add(row.target)
        if row.result in ("failed", "busy"):
            found.append(
                f"{rfc3339(row.time)} {row.target} {row.action}: {row.result}"
                + (f" ({row.error})" if row.error else "")
            )
            if len(found) == limit:
                break
    return found


def deployment_status(workload: ObservedWorkload) -> DeploymentStatus:
    """The reference's `status`, in its order: inactive when desired is 0, scaling while the pods created
    (status.replicas) differ from desired, else active."""
    if workload.replicas == 0:
        return "inactive"
    if workload.current_replicas != workload.replicas:
        return "scaling"
    return "active"


def deployment_state(
    project: Project, workload: ObservedWorkload, override: Override | None, last_scale: datetime | None
) -> DeploymentState:
    return DeploymentState(
        name=workload.ref.name,
        namespace=workload.ref.namespace,
        deployment=workload.ref.name,
        current_replicas=workload.current_replicas,
        desired_replicas=workload.replicas,
        available_replicas=workload.available_replicas,
        status=deployment_status(workload),
        # The reference always sends a time: the creation time, as it knows nothing later.
        last_scale_time=last_scale or workload.created or ZERO_TIME,
        project=project.name,
        original_replicas=workload.original_replicas,
        override=override_view(override),
    )


def _wants_up(override: Override) -> bool:
    return override.action is OverrideAction.UP or (
        override.action is OverrideAction.REPLICAS and (override.replicas or 0) > 0
    )


def project_view(
    project: Project,
    observed: ObservedCluster | None,
    overrides: Sequence[Override],
    now: datetime,
    errors: Sequence[str] = (),
) -> ProjectView:
    """One project now: schedule, desired vs actual per workload and pool, override, next change, errors."""
    scheduled_up = project.schedule.is_up(now)
    project_override = active_for(overrides, project.name, None, now)
    up = _wants_up(project_override) if project_override else scheduled_up
    pools_up = up or project.schedule.is_up(now + timedelta(minutes=project.warmup_minutes))
    problems = list(errors)
    workloads: list[WorkloadView] = []
    pools: list[PoolView] = []
    if observed is not None and observed.error:
        problems.append(f"cluster {project.cluster.name}: {observed.error}")
    elif observed is not None:
        for seen in sorted(observed.workloads, key=lambda w: w.ref):
            if not project.manages(seen.ref):
                continue
            own = active_for(overrides, project.name, seen.ref, now)
            workloads.append(
                WorkloadView(
                    kind=seen.ref.kind.value,
                    namespace=seen.ref.namespace,
                    name=seen.ref.name,
                    desired="up" if (_wants_up(own) if own else up) else "down",
                    replicas=seen.replicas,
                    ready_replicas=seen.ready_replicas,
                    original_replicas=seen.original_replicas,
                )
            )
            problems += [f"{seen.ref}: {e}" for e in seen.annotation_errors]
        for name in project.node_pools:
            pool = observed.pool(name)
            if pool is None:
                problems.append(f"node pool {name} not found in cluster {project.cluster.name}")
                continue
            pools.append(
                PoolView(
                    name=pool.name,
                    desired="up" if pools_up else "down",
                    count=pool.size.count,
                    power_state=pool.size.power_state,
                    provisioning_state=pool.provisioning_state,
                    autoscaling=pool.size.enable_auto_scaling,
                    original_count=pool.original.count if pool.original else None,
                )
            )
            problems += [f"node pool {name}: {e}" for e in pool.tag_errors]
    return ProjectView(
        name=project.name,
        cluster=project.cluster.resource_id,
        namespaces=list(project.namespaces),
        schedule=str(project.schedule),
        timezone=project.schedule.timezone,
        enabled=project.enabled,
        dry_run=project.dry_run,
        desired="up" if up else "down",
        scheduled="up" if scheduled_up else "down",
        override=override_view(project_override),
        next_change=transition_view(project, now),
        workloads=workloads,
        node_pools=pools,
        errors=problems,
    )
