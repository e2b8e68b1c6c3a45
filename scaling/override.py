"""Manual overrides: "keep project-b up until 22:00", "scale sample-app-a to 2" — the model and its validation.

An override wins over the schedule while it is active (`now < until`). A project-wide override has no
target; a targeted one names a single workload and wins over the project-wide one for that workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from scaling import free_text
from scaling.model import Project, WorkloadKind, WorkloadRef
from scaling.names import dns1123_label, dns1123_subdomain

UTC = UTC


class OverrideAction(StrEnum):
    UP = "up"
    DOWN = "down"
    REPLICAS = "replicas"  # a single workload at exactly `replicas`


class OverrideError(ValueError):
    """An override that cannot be accepted; the message says which field and why."""


@dataclass(frozen=True)
class Override:
    """One active-or-expired override. `until` and `created` are timezone-aware (stored in UTC)."""

    project: str
    action: OverrideAction
    until: datetime
    reason: str
    actor: str
    created: datetime
    target: WorkloadRef | None = None
    replicas: int | None = None  # only with action REPLICAS

    def active(self, now: datetime) -> bool:
        """Active until `until` (exclusive). `created` is not checked, so a replay with an injected
        past `now` (`reconcile --once --now ...`) still sees the overrides an operator set today."""
        return now < self.until

    @property
    def wants_up(self) -> bool:
        return self.action is OverrideAction.UP or (self.action is OverrideAction.REPLICAS and (self.replicas or 0) > 0)

    def describe(self) -> str:
        what = self.action.value if self.replicas is None else f"{self.action.value}={self.replicas}"
        scope = str(self.target) if self.target else f"project {self.project}"
        return f"{what} for {scope} until {self.until.astimezone(UTC):%Y-%m-%d %H:%M}Z"


def parse_target(text: str) -> WorkloadRef:
    """`deployment/<namespace>/<name>` or `statefulset/<namespace>/<name>` -> WorkloadRef."""
    parts = text.strip().split("/")
    if len(parts) != 3:
        raise OverrideError(
            f"target {text!r}: expected deployment/<namespace>/<name> or statefulset/<namespace>/<name>"
        )
    kind, namespace, name = parts
    try:
        workload_kind = WorkloadKind(kind.lower())
    except ValueError:
        raise OverrideError(f"target {text!r}: kind {kind!r} is not deployment or statefulset") from None
    try:
        return WorkloadRef(
            workload_kind,
            dns1123_label(namespace, what="target namespace"),
            dns1123_subdomain(name, what="target name"),
        )
    except ValueError as error:
        raise OverrideError(f"target {text!r}: {error}") from None


def target_key(target: WorkloadRef | None) -> str:
    """The RowKey of an override: `_project` for a project-wide one, else `<kind>:<namespace>:<name>`
    ('/' is not allowed in RowKeys; ':' cannot occur in DNS-1123 names, '_' cannot start one)."""
    if target is None:
        return PROJECT_WIDE
    return f"{target.kind.value}:{target.namespace}:{target.name}"


PROJECT_WIDE = "_project"
MAX_REASON = 500
MAX_ACTOR = 256


def _text(value: object, *, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise OverrideError(f"{field} is required (1-{limit} characters)")
    text = value.strip()
    if len(text) > limit:
        raise OverrideError(f"{field} is {len(text)} characters long; at most {limit} are allowed")
    refused = free_text.problem(text)  # shown in the audit trail and logs: nothing hidden, split or reordered
    if refused:
        raise OverrideError(f"{field} {refused}")
    return text


def new_override(
    project: Project,
    action: OverrideAction | str,
    *,
    reason: str,
    actor: str,
    now: datetime,
    max_hours: int,
    until: datetime | None = None,
    target: WorkloadRef | str | None = None,
    replicas: int | None = None,
    max_replicas: int = 50,
) -> Override:
    """A validated override for `project`; OverrideError says which field is wrong and why.

    `until` defaults to the project's next schedule change (so "down now" lasts until business hours
    would have ended anyway), capped at `max_hours` (SCALING_MAX_OVERRIDE_HOURS)."""
    if now.tzinfo is None:
        raise OverrideError("now must be timezone-aware")
    try:
        action = OverrideAction(action)
    except ValueError:
        raise OverrideError(f"action {action!r} is not one of up, down, replicas") from None
    ref = parse_target(target) if isinstance(target, str) else target
    if ref is not None and not project.manages(ref):
        raise OverrideError(
            f"target {ref} is not a workload of project {project.name} "
            f"(namespaces {', '.join(project.namespaces)}; Workloads / Exclude apply)"
        )
    if action is OverrideAction.REPLICAS:
        if ref is None:
            raise OverrideError("action replicas needs a target (deployment/<namespace>/<name>)")
        if not isinstance(replicas, int) or isinstance(replicas, bool) or not 0 <= replicas <= max_replicas:
            raise OverrideError(
                f"replicas {replicas!r} must be an integer from 0 to {max_replicas} (SCALING_MAX_REPLICAS)"
            )
    elif replicas is not None:
        raise OverrideError(f"replicas is only allowed with action replicas, not {action.value}")
    limit = now + timedelta(hours=max_hours)
    if until is None:
        change = project.schedule.next_change(now)
        until = limit if change is None else min(change, limit)
    else:
        if until.tzinfo is None:
            raise OverrideError(f"until {until.isoformat()} has no time zone; give an offset or Z")
        if until <= now:
            raise OverrideError(f"until {until.isoformat()} is not in the future")
        if until > limit:
            raise OverrideError(
                f"until {until.isoformat()} is more than {max_hours} hours ahead (SCALING_MAX_OVERRIDE_HOURS)"
            )
    return Override(
        project=project.name,
        action=action,
        until=until.astimezone(UTC),
        reason=_text(reason, field="reason", limit=MAX_REASON),
        actor=_text(actor, field="actor", limit=MAX_ACTOR),
        created=now.astimezone(UTC),
        target=ref,
        replicas=replicas,
    )


def as_utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
