"""The reference Scale API's deployment endpoints: same paths, bodies and response shapes.

Unlike the reference, a manual scale is also an override of the owning project's schedule (until the
project's next schedule change, or `scheduled_scale_up` / `until`), so the next timer tick keeps it; it
is applied at once and audited with the caller as actor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from scaling.api.auth import Caller, caller
from scaling.api.errors import ApiError
from scaling.api.models import (
    DeploymentName,
    ErrorBody,
    Namespace,
    ScaledDeployment,
    ScaleResponse,
    ScaleToZeroRequest,
    ScaleUpRequest,
    StatusResponse,
    TargetStatus,
)
from scaling.api.service import Applied, service_of
from scaling.api.views import check_until, deployment_state, to_override
from scaling.model import WorkloadKind, WorkloadRef
from scaling.override import OverrideAction
from scaling.plan.observed import ObservedWorkload

router = APIRouter(prefix="/api/v1/deployments/{namespace}/{name}", tags=["deployments (reference API)"])

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in (
        (400, "Bad JSON or failed validation"),
        (401, "Missing or wrong API key"),
        (403, "A project lists the namespace, but its Workloads / Exclude leave the deployment out"),
        (404, "Deployment or namespace not found"),
        (409, "Owned by more than one project, the project is disabled, or the object changed while scaling"),
        (500, "The Kubernetes or ARM call failed (the override is recorded; the next tick retries)"),
        (503, "Table Storage or the cluster is unreachable"),
    )
}

NamespaceParam = Annotated[Namespace, Path(description="Namespace (DNS-1123 label).")]
NameParam = Annotated[DeploymentName, Path(description="Deployment name (DNS-1123 subdomain).")]


def _until(body_until: datetime | None, body_scheduled: datetime | None) -> datetime | None:
    if body_until is not None and body_scheduled is not None and body_until != body_scheduled:
        raise ApiError(400, "Invalid request", "give either until or scheduled_scale_up, not two different times")
    return body_until or body_scheduled


def _seen(applied: Applied) -> ObservedWorkload:
    """The deployment after the change, or before it when it could not be read again."""
    seen = applied.after or applied.before
    assert seen is not None  # a targeted override always read its deployment first
    return seen


def _scaled(applied: Applied, *, target: int, status: TargetStatus, current: int) -> ScaledDeployment:
    override, before = applied.override, applied.before
    assert override is not None and before is not None  # a targeted override always has both
    return ScaledDeployment(
        name=before.ref.name,
        namespace=before.ref.namespace,
        previous_replicas=before.replicas,
        current_replicas=current,
        target_replicas=target,
        target_status=status,
        scaling_reason=override.reason,
        scheduled_scale_up=override.until,
        project=override.project,
        actor=override.actor,
    )


def _scale(
    request: Request,
    ref: WorkloadRef,
    who: Caller,
    action: OverrideAction,
    replicas: int | None,
    reason: str,
    until: datetime | None,
) -> Applied:
    now = request.app.state.clock()
    max_hours = request.app.state.settings.max_override_hours
    check_until(until, now, max_hours)  # bad input is refused before anything is looked up
    service = service_of(request)
    project = service.owner_of(ref)
    service.observed_workload(project, ref)  # 404 before anything is recorded
    override = to_override(
        project,
        action,
        reason=reason,
        actor=who.actor,
        now=now,
        until=until,
        target=ref,
        replicas=replicas,
        settings=request.app.state.settings,
    )
    return service.apply_override(project, override, now, who)


@router.post(
    "/scale-to-zero",
    response_model=ScaleResponse,
    responses=ERRORS,
    summary="Scale a Deployment to zero (and hold it there until scheduled_scale_up / the next schedule change)",
)
def scale_to_zero(
    namespace: NamespaceParam,
    name: NameParam,
    body: ScaleToZeroRequest,
    request: Request,
    who: Caller = Depends(caller),
) -> ScaleResponse:
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, name)
    until = _until(body.until, body.scheduled_scale_up)
    applied = _scale(request, ref, who, OverrideAction.DOWN, None, body.reason, until)
    current = _seen(applied).replicas
    return ScaleResponse(
        message=applied.message("Deployment scaled to zero"),
        deployment=_scaled(applied, target=0, status="scaled-to-zero", current=current),
        timestamp=request.app.state.clock(),
    )


@router.post(
    "/scale-up",
    response_model=ScaleResponse,
    responses=ERRORS,
    summary="Scale a Deployment to a replica count (also down to a smaller non-zero count)",
)
def scale_up(
    namespace: NamespaceParam,
    name: NameParam,
    body: ScaleUpRequest,
    request: Request,
    who: Caller = Depends(caller),
) -> ScaleResponse:
    limit = request.app.state.settings.max_replicas
    if body.replicas > limit:
        raise ApiError(
            400,
            "Invalid request",
            f"body field replicas: {body.replicas} is above the limit {limit} (SCALING_MAX_REPLICAS)",
        )
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, name)
    until = _until(body.until, body.scheduled_scale_up)
    applied = _scale(request, ref, who, OverrideAction.REPLICAS, body.replicas, body.reason, until)
    current = _seen(applied).ready_replicas
    return ScaleResponse(
        message=applied.message(f"Deployment scaled to {body.replicas} replicas"),
        deployment=_scaled(applied, target=body.replicas, status="scaling-up", current=current),
        timestamp=request.app.state.clock(),
    )


@router.get("/status", response_model=StatusResponse, responses=ERRORS, summary="A Deployment's replicas and state")
def status(namespace: NamespaceParam, name: NameParam, request: Request) -> StatusResponse:
    service = service_of(request)
    now = request.app.state.clock()
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, name)
    project = service.owner_of(ref)
    workload = service.observed_workload(project, ref)
    override = service.override_for(project, ref, now)
    last = service.last_scale_time(project, ref)
    return StatusResponse(deployment=deployment_state(project, workload, override, last), timestamp=now)
