"""The reference Scale API's deployment endpoints: same paths, bodies and response shapes.

Unlike the reference, a manual scale is also an override of the owning project's schedule (until the
project's next schedule change, or `scheduled_scale_up` / `until`), so the next timer tick keeps it; it
is applied at once and audited with the caller as actor.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from scaling import free_text
from scaling.api.auth import Caller, caller
from scaling.api.errors import REFERENCE_BAD_BODY, ApiError
from scaling.api.models import (
    MAX_REASON,
    DeploymentName,
    ErrorBody,
    Namespace,
    ScaledDeployment,
    ScaleResponse,
    ScaleToZeroRequest,
    ScaleUpRequest,
    StatusResponse,
    TargetStatus,
    rfc3339,
)
from scaling.api.service import Applied, service_of
from scaling.api.views import deployment_state, to_override
from scaling.clusters.objects import MAX_REPLICAS as REMEMBERABLE_REPLICAS
from scaling.model import Project, WorkloadKind, WorkloadRef
from scaling.override import OverrideAction, cap_hours
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


NO_REASON = "no reason given"
# A size above this could not be remembered: the original-replicas annotation the app writes when it scales
# the Deployment down is read back only up to this count (scaling/clusters/objects.py), so the evening's
# scale-down would stop with an unreadable annotation. The one refusal the reference does not make.
REMEMBERABLE = REMEMBERABLE_REPLICAS


def _reason(text: str, *, limit_is_error: bool) -> tuple[str, str | None, list[str]]:
    """(what is recorded, what the response echoes, warnings). Refuses only text the audit cannot hold."""
    given = text.strip()
    if not given or free_text.problem(given) == "has no visible character":
        note = "no reason given" if not text else "the reason has no visible character"
        return NO_REASON, (text or None), [f"{note}: recorded as '{NO_REASON}'"]
    warnings: list[str] = []
    if len(given) > MAX_REASON:
        if limit_is_error:  # the reference's scale-up binds reason with max=500
            raise ApiError(400, REFERENCE_BAD_BODY, f"body field reason: {len(given)} characters; at most {MAX_REASON}")
        warnings.append(f"reason is {len(given)} characters: the first {MAX_REASON} are recorded")
        given = given[:MAX_REASON].rstrip()
    refused = free_text.problem(given)
    if refused:
        raise ApiError(400, REFERENCE_BAD_BODY, f"body field reason {refused}")
    return given, text, warnings


def _one_end(body: ScaleToZeroRequest | ScaleUpRequest) -> None:
    if body.until is not None and body.scheduled_scale_up is not None and body.until != body.scheduled_scale_up:
        raise ApiError(400, REFERENCE_BAD_BODY, "give either until or scheduled_scale_up, not two different times")


def _until(
    body: ScaleToZeroRequest | ScaleUpRequest, now: datetime, project: Project, max_hours: int
) -> tuple[datetime | None, list[str]]:
    """The override's end from the request, made acceptable instead of refused (the reference takes any
    time): a past one means "until the next schedule change", a far one is held as long as allowed."""
    body_until = body.until
    until = body.until or body.scheduled_scale_up
    if until is None:
        return None, []
    field = "until" if body_until is not None else "scheduled_scale_up"
    if until <= now:
        return None, [
            f"{field} {rfc3339(until)} is not in the future: held until the project's next schedule change instead"
        ]
    hours, setting = cap_hours(project, max_hours)
    cap = now + timedelta(hours=hours)
    if until > cap:
        return cap, [
            f"{field} {rfc3339(until)} is more than {hours} hours ahead: the app holds it until {rfc3339(cap)} "
            f"({setting}), then the project's schedule decides again"
        ]
    return until, []


def _unknown(body: ScaleToZeroRequest | ScaleUpRequest) -> list[str]:
    return [f"body field {name} is not a field of this endpoint: ignored" for name in body.unknown_fields()]


def _before(applied: Applied) -> ObservedWorkload:
    """The deployment as it was before the change (a targeted override always read it first)."""
    assert applied.before is not None
    return applied.before


def _scaled(
    applied: Applied, *, target: int, status: TargetStatus, current: int, reason: str | None, scheduled: datetime | None
) -> ScaledDeployment:
    override, before = applied.override, _before(applied)
    assert override is not None  # a targeted override always has one
    return ScaledDeployment(
        name=before.ref.name,
        namespace=before.ref.namespace,
        previous_replicas=before.replicas,
        current_replicas=current,
        target_replicas=target,
        target_status=status,
        scaling_reason=reason or None,
        scheduled_scale_up=scheduled,
        project=override.project,
        actor=override.actor,
        dry_run=applied.dry_run,
    )


def _scale(
    request: Request,
    ref: WorkloadRef,
    who: Caller,
    action: OverrideAction,
    replicas: int | None,
    reason: str,
    body: ScaleToZeroRequest | ScaleUpRequest,
) -> tuple[Applied, list[str]]:
    """Record and apply the override; (what was applied, warnings about its end)."""
    now = request.app.state.clock()
    service = service_of(request)
    project = service.owner_of(ref)
    service.observed_workload(project, ref)  # 404 before anything is recorded
    settings = request.app.state.settings
    until, late = _until(body, now, project, settings.max_override_hours)
    override = to_override(
        project,
        action,
        reason=reason,
        actor=who.actor,
        now=now,
        until=until,
        target=ref,
        replicas=replicas,
        settings=replace(settings, max_replicas=max(settings.max_replicas, REMEMBERABLE)),
    )
    try:
        return service.apply_override(project, override, now, who, busy_is_pending=True), late
    except ApiError as error:
        if error.status == 500:  # the reference's words for a scale that failed
            raise ApiError(500, "Failed to scale deployment", error.detail) from error
        raise


@router.post(
    "/scale-to-zero",
    response_model=ScaleResponse,
    response_model_exclude_none=True,
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
    recorded, echoed, warnings = _reason(body.reason, limit_is_error=False)
    _one_end(body)
    applied, late = _scale(request, ref, who, OverrideAction.DOWN, None, recorded, body)
    scheduled = body.scheduled_scale_up or body.until or (applied.override.until if applied.override else None)
    return ScaleResponse(
        message="Deployment scaled to zero",
        deployment=_scaled(applied, target=0, status="scaled-to-zero", current=0, reason=echoed, scheduled=scheduled),
        timestamp=request.app.state.clock(),
        warnings=_unknown(body) + warnings + late,
        pending=applied.pending(),
    )


@router.post(
    "/scale-up",
    response_model=ScaleResponse,
    response_model_exclude_none=True,
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
    settings = request.app.state.settings
    if body.replicas > REMEMBERABLE:
        raise ApiError(
            400,
            REFERENCE_BAD_BODY,
            f"body field replicas: {body.replicas} is above {REMEMBERABLE}, the largest size the app can remember "
            "on the Deployment when it scales it down",
        )
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, name)
    now = request.app.state.clock()
    recorded, echoed, warnings = _reason(body.reason, limit_is_error=True)
    _one_end(body)
    if body.replicas > settings.max_replicas:
        warnings.append(
            f"replicas {body.replicas} is above SCALING_MAX_REPLICAS ({settings.max_replicas}): accepted as the "
            "reference accepts it; check it is not a typo"
        )
    applied, late = _scale(request, ref, who, OverrideAction.REPLICAS, body.replicas, recorded, body)
    return ScaleResponse(
        message=f"Deployment scaled to {body.replicas} replicas",
        deployment=_scaled(
            applied,
            target=body.replicas,
            status="scaling-up",
            current=_before(applied).current_replicas,  # the reference reports the pods before the scale
            reason=echoed,
            scheduled=body.scheduled_scale_up or body.until or (applied.override.until if applied.override else None),
        ),
        timestamp=now,
        warnings=_unknown(body) + warnings + late,
        pending=applied.pending(),
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
