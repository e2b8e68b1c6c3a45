"""Manual overrides: "keep project-b up until 22:00", "scale sample-app-a to 2" — the model and its validation.

An override wins over the schedule while it is active (`now < until`). A project-wide override has no
target; a targeted one names a single workload and wins over the project-wide one for that workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from scaling import free_text, when
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
    until: datetime | str | None = None,
    duration: timedelta | str | None = None,
    target: WorkloadRef | str | None = None,
    replicas: int | None = None,
    max_replicas: int = 50,
) -> Override:
    """A validated override for `project`; OverrideError says which field is wrong and why.

    `until` defaults to the project's next schedule change (so "down now" lasts until business hours
    would have ended anyway), capped at the project's MaxOverrideHours, else `max_hours`
    (SCALING_MAX_OVERRIDE_HOURS). `until` may be typed text (`22:00` in the project's zone, see
    scaling/when.py); `duration` (`2h`) counts from `now`."""
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
    until = resolve_until(project, now=now, max_hours=max_hours, until=until, duration=duration)
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


def cap_hours(project: Project, max_hours: int) -> tuple[int, str]:
    """The longest override `project` may have, and the setting that says so (named in errors)."""
    own = getattr(project, "max_override_hours", None)
    if own:
        return own, f"the project's MaxOverrideHours column ({own})"
    return max_hours, (
        f"SCALING_MAX_OVERRIDE_HOURS={max_hours}; set the project's MaxOverrideHours column to allow longer"
    )


def resolve_until(
    project: Project,
    *,
    now: datetime,
    max_hours: int,
    until: datetime | str | None = None,
    duration: timedelta | str | None = None,
) -> datetime:
    """The end of an override from what was typed: until / for / neither (the next schedule change)."""
    zone = project.schedule.zone
    hours, setting = cap_hours(project, max_hours)
    limit = now + timedelta(hours=hours)
    if until is not None and duration is not None:
        raise OverrideError("give until or for, not both")
    try:
        if isinstance(duration, str):
            duration = when.parse_duration(duration)
        if isinstance(until, str):
            until = when.parse_until(until, now=now, zone=zone)
    except when.WhenError as error:
        raise OverrideError(str(error)) from None
    if duration is not None:
        if duration > timedelta(hours=hours):
            raise OverrideError(f"for {_span(duration)} is longer than {hours} hours ({setting})")
        return (now + duration).astimezone(UTC)
    if until is None:
        change = project.schedule.next_change(now)
        return (limit if change is None else min(change, limit)).astimezone(UTC)
    if until.tzinfo is None:
        raise OverrideError(f"until {until.isoformat()} has no time zone; give an offset or Z")
    shown = when.local_text(until, zone)
    if until <= now:
        raise OverrideError(f"until {shown} is not in the future (now {when.local_text(now, zone)})")
    if until > limit:
        raise OverrideError(f"until {shown} is more than {hours} hours ahead ({setting})")
    return until.astimezone(UTC)


def _span(value: timedelta) -> str:
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes % 60 else f"{minutes // 60}h"


def as_utc(value: datetime) -> datetime:
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
