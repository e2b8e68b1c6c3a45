"""Projects, project overrides, plans and audit: the endpoints the reference API does not have."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from scaling.api.auth import Caller, caller
from scaling.api.errors import ApiError
from scaling.api.models import (
    AuditResponse,
    ErrorBody,
    Instant,
    OverrideRequest,
    OverrideResponse,
    PlanResponse,
    ProjectName,
    ProjectResponse,
    ProjectsResponse,
    TransitionView,
    rfc3339,
)
from scaling.api.service import service_of
from scaling.api.views import check_year, override_view, to_override
from scaling.override import OverrideError, parse_target
from scaling.schedule.timeline import week_transitions
from scaling.storage.audit import DEFAULT_DAYS

router = APIRouter(prefix="/api/v1", tags=["projects"])

MAX_PLAN_DAYS = 31
MAX_AUDIT_LIMIT = 1000
MAX_AUDIT_DAYS = DEFAULT_DAYS  # the day partitions one query without a project may read

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Bad JSON or failed validation"),
        (401, "Missing or wrong API key"),
        (404, "Unknown project, or no active override"),
        (409, "The project is disabled"),
        (500, "Applying the change failed (the override is recorded; the next tick retries)"),
        (503, "Table Storage or the cluster is unreachable"),
    )
}

ProjectParam = Annotated[ProjectName, Path(description="Project name (DNS-1123 label): the Projects table's RowKey.")]


@router.get("/projects", response_model=ProjectsResponse, responses=ERRORS)
def list_projects(request: Request) -> ProjectsResponse:
    """Every project: schedule, desired vs actual state per workload and pool, override, next change, errors."""
    service = service_of(request)
    now = request.app.state.clock()
    views, errors = service.project_views(now)
    return ProjectsResponse(projects=views, errors=errors, timestamp=now)


@router.get("/projects/{project}", response_model=ProjectResponse, responses=ERRORS)
def get_project(project: ProjectParam, request: Request) -> ProjectResponse:
    service = service_of(request)
    now = request.app.state.clock()
    return ProjectResponse(project=service.project_view(project, now), timestamp=now)


@router.post("/projects/{project}/override", response_model=OverrideResponse, responses=ERRORS)
def set_override(
    project: ProjectParam, body: OverrideRequest, request: Request, who: Caller = Depends(caller)
) -> OverrideResponse:
    """Hold the whole project up or down until `until` or `for` a while (default: its next schedule change),
    applied at once. `until` is read in the project's time zone unless it carries an offset."""
    now = request.app.state.clock()
    service = service_of(request)
    loaded = service.project(project)
    override = to_override(
        loaded,
        body.action,
        reason=body.reason,
        actor=who.actor,
        now=now,
        until=body.until,
        duration=body.for_,
        settings=request.app.state.settings,
    )
    applied = service.apply_override(loaded, override, now, who)
    local = override.until.astimezone(loaded.schedule.zone)
    return OverrideResponse(
        message=applied.message(
            f"Project {loaded.name} held {body.action} until {rfc3339(override.until)} "
            f"({local:%a %d %b %H:%M} {loaded.schedule.timezone})"
        ),
        override=override_view(override),
        results=applied.results(),
        timestamp=now,
    )


@router.delete("/projects/{project}/override", response_model=OverrideResponse, responses=ERRORS)
def clear_override(
    project: ProjectParam,
    request: Request,
    who: Caller = Depends(caller),
    target: Annotated[
        str | None,
        Query(
            max_length=400,
            description="Clear the override of one workload (deployment/<namespace>/<name>) instead of the project's.",
        ),
    ] = None,
) -> OverrideResponse:
    """End the project's override (or one workload's) now; the schedule takes over at once."""
    try:
        ref = parse_target(target) if target is not None else None
    except OverrideError as error:
        raise ApiError(400, "Invalid request", f"query parameter target: {error}") from None
    service = service_of(request)
    now = request.app.state.clock()
    loaded = service.project(project)
    cleared, applied = service.clear_override(loaded, ref, now, who)
    what = f"{ref}" if ref else f"project {loaded.name}"
    return OverrideResponse(
        message=applied.message(f"Override of {what} cleared; the schedule applies"),
        override=override_view(cleared),
        results=applied.results(),
        timestamp=now,
    )


@router.get("/projects/{project}/plan", response_model=PlanResponse, responses=ERRORS)
def plan(
    project: ProjectParam,
    request: Request,
    days: Annotated[int, Query(ge=1, le=MAX_PLAN_DAYS, description="How many days ahead (1-31).")] = 7,
) -> PlanResponse:
    """The project's coming schedule transitions, in UTC and in its local time."""
    service = service_of(request)
    now = request.app.state.clock()
    loaded = service.project(project)
    transitions = [
        TransitionView(at_utc=t.at_utc, at_local=t.at_local.isoformat(), up=t.up)
        for t in week_transitions(loaded.schedule, start=now, days=days)
    ]
    return PlanResponse(
        project=loaded.name, timezone=loaded.schedule.timezone, days=days, transitions=transitions, timestamp=now
    )


@router.get("/audit", response_model=AuditResponse, responses=ERRORS, tags=["audit"])
def audit(
    request: Request,
    project: Annotated[ProjectName | None, Query(description="Only this project's rows.")] = None,
    since: Annotated[Instant | None, Query(description="From this instant (ISO 8601 with offset).")] = None,
    until: Annotated[Instant | None, Query(description="Before this instant (ISO 8601 with offset).")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_LIMIT, description="Rows per page (1-1000).")] = 100,
    continuation: Annotated[
        str | None, Query(max_length=2000, description="The `continuation` of the previous page.")
    ] = None,
) -> AuditResponse:
    """Audit rows, newest first, paged."""
    check_year(since, "query parameter since")
    check_year(until, "query parameter until")
    if since is not None and until is not None and since >= until:
        raise ApiError(400, "Invalid request", "query parameter since must be before until")
    if project is None and since is not None:
        # Without a project every UTC day in the window is one partition to read: keep the window bounded.
        end = until or request.app.state.clock()
        if end - since > timedelta(days=MAX_AUDIT_DAYS):
            raise ApiError(
                400,
                "Invalid request",
                f"without project, since..until may span at most {MAX_AUDIT_DAYS} days; "
                "narrow the window or give project",
            )
    service = service_of(request)
    rows, token = service.audit(project=project, since=since, until=until, limit=limit, continuation=continuation)
    return AuditResponse(rows=list(rows), continuation=token, timestamp=request.app.state.clock())
