"""`POST /api/v1/projects/{project}/notify-test`: send a project's heads-up to its channels now, to check
their setup (webhook URLs never appear in the answer: channels are named by their app settings)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from scaling.api.errors import ApiError
from scaling.api.models import UtcTime
from scaling.api.projects import ERRORS, ProjectParam
from scaling.api.service import service_of

router = APIRouter(prefix="/api/v1", tags=["projects"])


class DeliveryView(BaseModel):
    channel: str = Field(description="`<kind>:<app setting>`, e.g. `teams:NOTIFY_PLATFORM`")
    ok: bool
    status: int | None = Field(description="the webhook's last HTTP status; null: no answer")
    attempts: int
    error: str | None = Field(description="what went wrong, without the URL")


class NotifyTestResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    deliveries: list[DeliveryView]
    timestamp: UtcTime


@router.post("/projects/{project}/notify-test", response_model=NotifyTestResponse, responses=ERRORS)
def notify_test(project: ProjectParam, request: Request) -> NotifyTestResponse:
    """Send the project's heads-up (for its next down transition) to every channel in its `Notify` column now.
    Outside the once-per-transition bookkeeping; audited as `notify-test`."""
    from scaling.notifying import send_test

    service = service_of(request)
    loaded = service.project(project)
    now = request.app.state.clock()
    if not loaded.notify:
        raise ApiError(409, f"Project {project} has no Notify channels", "set its Notify column first")
    context = getattr(service.backend, "context", None)
    try:
        sent = send_test(context, loaded, now)
    except RuntimeError as error:
        raise ApiError(503, "Notifications unavailable", str(error)) from None
    ok = sum(1 for s in sent if s.delivery.ok)
    return NotifyTestResponse(
        message=f"Heads-up for {project} sent to {ok} of {len(sent)} channels",
        deliveries=[
            DeliveryView(
                channel=s.channel,
                ok=s.delivery.ok,
                status=s.delivery.status,
                attempts=s.delivery.attempts,
                error=s.delivery.error,
            )
            for s in sent
        ],
        timestamp=now,
    )
