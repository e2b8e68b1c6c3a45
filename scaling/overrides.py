"""Manual overrides: "keep project-b up until 22:00", "scale sample-app-a to 2" — the model.

An override wins over the schedule while it is active (`now < until`). A project-wide override has no
target; a targeted one names a single workload and wins over the project-wide one for that workload.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum

from scaling.model import WorkloadKind, WorkloadRef
from scaling.names import dns1123_label, dns1123_subdomain

UTC = timezone.utc


class OverrideAction(str, Enum):
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
        return self.action is OverrideAction.UP or (
            self.action is OverrideAction.REPLICAS and (self.replicas or 0) > 0
        )

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
