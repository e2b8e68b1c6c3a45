"""Releases over HTTP: give back now what the app holds of a project, or of no row at all (orphans)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from scaling.api.auth import Caller, caller
from scaling.api.errors import ApiError
from scaling.api.models import HoldingsResponse, OrphanView, ReleaseResponse
from scaling.api.projects import ERRORS, ProjectParam
from scaling.api.service import service_of

router = APIRouter(prefix="/api/v1", tags=["release"])

DryRun = Annotated[bool, Query(description="Plan and audit as dry-run; change nothing.")]


@router.get("/releases", response_model=HoldingsResponse, responses=ERRORS)
def list_releases(request: Request) -> HoldingsResponse:
    """What the next tick releases, what waits (Release: at-opening, a row that does not load), and the
    orphans, on clusters reached through the Kubernetes API (a run-command look takes tens of seconds:
    `python -m scaling release --orphans --dry-run` covers those)."""
    now = request.app.state.clock()
    backend = service_of(request).backend
    look = getattr(backend, "holdings", None)
    if look is None:
        raise ApiError(503, "Releases unavailable", "this backend cannot look at clusters")
    try:
        preview, warning = look(now)
    except Exception as error:
        raise ApiError(
            503, "Releases unavailable", f"looking at the clusters failed: {type(error).__name__}"
        ) from error
    return HoldingsResponse(
        due=[f"{o.action.target}: {o.action.why.reason} ({o.action.why.project})" for o in preview.outcomes],
        waiting=[f"{n.target}: {n.message} ({n.why.project})" for n in preview.waiting],
        orphans=[OrphanView(cluster=str(c), target=t) for c, t in preview.orphans],
        warnings=[warning] if warning else [],
        problems=list(preview.problems),
        timestamp=now,
    )


@router.post("/projects/{project}/release", response_model=ReleaseResponse, responses=ERRORS)
def release_project(
    project: ProjectParam, request: Request, who: Caller = Depends(caller), dry_run: DryRun = False
) -> ReleaseResponse:
    """Restore exactly, now, what the app holds of the project (named on the object, or in its row's
    columns; the row may be disabled, invalid or deleted), in morning order. An enabled project is taken
    down again by its schedule: disable it first to keep it up."""
    return _release(request, who, project=project, orphans=False, dry_run=dry_run)


@router.post("/release/orphans", response_model=ReleaseResponse, responses=ERRORS)
def release_orphans(request: Request, who: Caller = Depends(caller), dry_run: DryRun = False) -> ReleaseResponse:
    """Restore exactly, now, every orphan: the app's annotations or tags in a namespace or on a pool that no
    row names, on the clusters the table names."""
    return _release(request, who, project=None, orphans=True, dry_run=dry_run)


def _release(request: Request, who: Caller, *, project: str | None, orphans: bool, dry_run: bool) -> ReleaseResponse:
    now = request.app.state.clock()
    applied, warnings = service_of(request).release(project=project, orphans=orphans, who=who, now=now, dry_run=dry_run)
    what = f"project {project}" if project else "orphans"
    count = sum(1 for o in applied.outcomes if not hasattr(o.action, "message"))
    return ReleaseResponse(
        message=applied.message(f"Released {count} change(s) of {what}"),
        dry_run=applied.dry_run,
        results=applied.lines(),
        warnings=warnings,
        timestamp=now,
    )
