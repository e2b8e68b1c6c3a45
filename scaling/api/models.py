"""Request and response bodies of the HTTP API (pydantic): the reference Scale API shapes plus ours."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer

from scaling import free_text
from scaling.names import dns1123_label, dns1123_subdomain

MAX_REASON = 500
INT32_MAX = 2**31 - 1  # Kubernetes' replicas are int32, and so is the reference's request field
# Go's zero time.Time, which the reference always writes for fields it never fills (scaled_at, last_scaled).
ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339(value: datetime) -> str:
    """An instant as the reference API writes it: UTC, whole seconds, `Z` (`2025-07-17T10:00:00Z`)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("must include a time zone offset or 'Z' (e.g. 2026-11-24T22:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-14:00 is past the last representable UTC instant
        raise ValueError("is out of range once converted to UTC") from None


def _reason(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty or only spaces")
    if len(value) > MAX_REASON:
        raise ValueError(f"must be at most {MAX_REASON} characters (got {len(value)})")
    refused = free_text.problem(value)  # the same rule as scaling/storage/overrides.py applies
    if refused:
        raise ValueError(refused)
    return value


# Names in paths and queries, checked before they reach a URL, a filter or a shell (scaling/names.py).
# The patterns are documentation for OpenAPI clients; the validators give the clear messages.
_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
Namespace = Annotated[
    str, AfterValidator(lambda v: dns1123_label(v, what="namespace")), Field(json_schema_extra={"pattern": _LABEL})
]
DeploymentName = Annotated[
    str,
    AfterValidator(lambda v: dns1123_subdomain(v, what="deployment name")),
    Field(json_schema_extra={"pattern": _SUBDOMAIN, "maxLength": 253}),
]
ProjectName = Annotated[
    str, AfterValidator(lambda v: dns1123_label(v, what="project")), Field(json_schema_extra={"pattern": _LABEL})
]

# An instant in a request: ISO 8601 with an offset; naive times are rejected, values are kept in UTC.
Instant = Annotated[datetime, AfterValidator(_aware)]
# An instant in a response, written the reference's way.
UtcTime = Annotated[datetime, PlainSerializer(rfc3339, return_type=str, when_used="json")]
Reason = Annotated[str, Field(description="Why (1-500 characters); recorded in the audit."), AfterValidator(_reason)]


TargetStatus = Literal["scaled-to-zero", "scaling-up"]
DeploymentStatus = Literal["active", "inactive", "scaling", "unknown"]


class _Request(BaseModel):
    # Unknown fields are an error, not silently dropped: a typo like "untill" must not pass as "no expiry".
    model_config = ConfigDict(extra="forbid", strict=False)


class _ReferenceRequest(BaseModel):
    # The reference ignores fields it does not know (Go's JSON decoder); so do we, and say so in `warnings`.
    model_config = ConfigDict(extra="allow", strict=False)

    def unknown_fields(self) -> list[str]:
        return sorted(self.model_extra or {})


class ScaleToZeroRequest(_ReferenceRequest):
    reason: str = Field("", description="Why (optional, as in the reference); recorded in the audit.")
    scheduled_scale_up: Instant | None = Field(
        None, description="When the override ends and the schedule takes over again (reference field name)."
    )
    until: Instant | None = Field(None, description="Same as scheduled_scale_up; give at most one of them.")


class ScaleUpRequest(_ReferenceRequest):
    replicas: Annotated[
        int, Field(strict=True, ge=1, le=INT32_MAX, description="Target replica count (a Kubernetes int32, >= 1).")
    ]
    reason: Annotated[str, Field(min_length=1, description="Why (required, as in the reference); recorded.")]
    until: Instant | None = Field(None, description="When the override ends (default: the next schedule change).")
    scheduled_scale_up: Instant | None = Field(None, description="Same as until; give at most one of them.")


class OverrideRequest(_Request):
    action: Literal["up", "down"]
    reason: Reason
    until: str | None = Field(
        None,
        max_length=64,
        description="When the override ends, as people type it: `22:00` (the next 22:00 in the project's time "
        "zone), `tomorrow 09:00`, `Fri 18:00`, `2026-12-24 12:00` (local), or ISO 8601 with an offset. "
        "Default: the next schedule change.",
        examples=["22:00", "2026-12-24T12:00:00Z"],
    )
    for_: str | None = Field(
        None,
        alias="for",
        max_length=64,
        description="How long the override lasts from now (`2h`, `90m`, `1h30m`, `3d`, `PT2H`); instead of until.",
        examples=["2h"],
    )

    model_config = ConfigDict(extra="forbid", strict=False, populate_by_name=True)


class ErrorBody(BaseModel):
    """Every error, in the reference API's shape."""

    status: Literal["error"] = "error"
    message: str
    error: str
    timestamp: UtcTime


class HealthBody(BaseModel):
    status: Literal["healthy"] = "healthy"
    time: UtcTime


class ReadyBody(BaseModel):
    """Ready: exactly the reference's fields (status, kubernetes, time)."""

    status: Literal["ready"] = "ready"
    kubernetes: Literal["connected"] = "connected"
    time: UtcTime


class NotReadyBody(BaseModel):
    """Not ready: the reference's fields plus `checks`, what each dependency answered."""

    status: Literal["not ready"] = "not ready"
    error: str
    time: UtcTime
    checks: dict[str, str] = Field(default_factory=dict, description="Each dependency checked: 'ok' or what failed.")


class ScaledDeployment(BaseModel):
    """The reference's DeploymentInfo field by field (its zero values included), then ours."""

    name: str
    namespace: str
    replicas: Annotated[int, Field(description="Always 0, as in the reference (it never fills it).")] = 0
    previous_replicas: int
    current_replicas: int
    target_replicas: int
    target_status: TargetStatus
    scaled_at: Annotated[str, Field(description="Always Go's zero time, as in the reference.")] = ZERO_TIME
    scaling_reason: str | None = Field(None, description="The request's reason; left out when none was given.")
    scheduled_scale_up: UtcTime | None = None
    project: str
    actor: str
    dry_run: bool = False


class ScaleResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    deployment: ScaledDeployment
    timestamp: UtcTime
    warnings: list[str] = Field(
        default_factory=list, description="What the app accepted but did differently or found odd (never an error)."
    )
    pending: list[str] = Field(
        default_factory=list,
        description="Changes started or held back (a pool still busy); the app comes back within seconds.",
    )


class DeploymentState(BaseModel):
    name: str
    namespace: str
    deployment: str
    current_replicas: int
    desired_replicas: int
    available_replicas: int
    status: DeploymentStatus
    last_scaled: Annotated[str, Field(description="Always Go's zero time, as in the reference.")] = ZERO_TIME
    last_scale_time: UtcTime | str = Field(
        description="The app's last scale of it (audit), else its creation time, as in the reference."
    )
    project: str
    original_replicas: int | None = None
    override: OverrideView | None = None


class StatusResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str = "Deployment status retrieved successfully"
    deployment: DeploymentState
    timestamp: UtcTime


class OverrideView(BaseModel):
    project: str
    target: str | None = Field(None, description="A single workload (kind/namespace/name), or null for the project.")
    action: str
    replicas: int | None = None
    until: UtcTime
    reason: str
    actor: str
    created: UtcTime | None = None


class TransitionView(BaseModel):
    at_utc: UtcTime
    at_local: str = Field(description="The same instant in the project's time zone, with its offset.")
    up: bool


class WorkloadView(BaseModel):
    kind: str
    namespace: str
    name: str
    desired: Literal["up", "down"]
    replicas: int
    ready_replicas: int
    original_replicas: int | None = None


class PoolView(BaseModel):
    name: str
    desired: Literal["up", "down"]
    count: int
    power_state: str
    provisioning_state: str
    autoscaling: bool
    original_count: int | None = None


class ProjectView(BaseModel):
    name: str
    cluster: str
    namespaces: list[str]
    schedule: str
    timezone: str
    enabled: bool
    dry_run: bool
    desired: Literal["up", "down"]
    scheduled: Literal["up", "down"] = Field(description="What the schedule alone says now.")
    override: OverrideView | None = None
    next_change: TransitionView | None = None
    workloads: list[WorkloadView] = Field(default_factory=list)
    node_pools: list[PoolView] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="Row errors, cluster errors and recent failed actions.")


class ProjectsResponse(BaseModel):
    status: Literal["success"] = "success"
    projects: list[ProjectView]
    errors: list[str] = Field(
        default_factory=list, description="Rows that could not be loaded: project, column, problem."
    )
    timestamp: UtcTime


class ProjectResponse(BaseModel):
    status: Literal["success"] = "success"
    project: ProjectView
    timestamp: UtcTime


class ResultView(BaseModel):
    """One change applied at once (or a notice about one): JSON fields, not a line of text."""

    target: str = Field(description="`deployment/<ns>/<name>`, `nodepool/<name>`, ...")
    from_: str | None = Field(None, alias="from", description="The size before, as the audit writes it (`2`).")
    to: str | None = Field(None, description="The size after (`0`, `3 (autoscale 1-5)`, `stopped (3)`).")
    result: str = Field(description="ok | failed | busy | skipped | dry-run | reported")
    error: str | None = None
    message: str | None = Field(None, description="A notice's text (a change that was not made, and why).")

    model_config = ConfigDict(populate_by_name=True)


class OverrideResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    override: OverrideView | None
    results: list[ResultView] = Field(default_factory=list, description="What was applied at once, one per change.")
    timestamp: UtcTime


class ReleaseResponse(BaseModel):
    status: Literal["success"] = "success"
    message: str
    dry_run: bool
    results: list[str] = Field(default_factory=list, description="What was given back, one line per change.")
    warnings: list[str] = Field(
        default_factory=list, description="GPU pools this starts (outside business hours they bill at once)."
    )
    timestamp: UtcTime


class OrphanView(BaseModel):
    cluster: str = Field(description="AKS resource id")
    target: str = Field(description="deployment/<ns>/<name>, statefulset/..., cronjob/..., nodepool/<name>")


class HoldingsResponse(BaseModel):
    status: Literal["success"] = "success"
    due: list[str] = Field(default_factory=list, description="Released at the next tick: target and reason.")
    waiting: list[str] = Field(default_factory=list, description="Releases that wait (Release: at-opening, bad rows).")
    orphans: list[OrphanView] = Field(default_factory=list, description="The app's holds that no row names.")
    warnings: list[str] = Field(default_factory=list, description="GPU pools the next tick starts.")
    problems: list[str] = Field(default_factory=list, description="Clusters not looked at (run-command ones).")
    timestamp: UtcTime


class PlanResponse(BaseModel):
    status: Literal["success"] = "success"
    project: str
    timezone: str
    days: int
    transitions: list[TransitionView]
    timestamp: UtcTime


class AuditView(BaseModel):
    time: UtcTime
    project: str
    cluster: str | None = None
    target: str
    action: str
    from_: str | None = Field(None, alias="from")
    to: str | None = None
    trigger: str
    actor: str
    reason: str | None = None
    result: str
    error: str | None = None
    duration_ms: int | None = None

    model_config = ConfigDict(populate_by_name=True)


class AuditResponse(BaseModel):
    status: Literal["success"] = "success"
    rows: list[AuditView]
    continuation: str | None = Field(None, description="Pass as `continuation` to get the next page; null at the end.")
    timestamp: UtcTime


DeploymentState.model_rebuild()
