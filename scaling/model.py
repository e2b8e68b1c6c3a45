"""The project model: what one row of the `Projects` table means once validated."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from scaling.names import ClusterId
from scaling.schedule import Schedule


class Access(StrEnum):
    """How the app reaches a cluster's workloads."""

    API = "api"
    RUN_COMMAND = "run-command"


class NodePoolAction(StrEnum):
    """What happens to a project's node pools outside business hours."""

    ZERO = "zero"  # autoscaler off, count 0; originals kept in pool tags
    STOP = "stop"  # powerState Stopped; originals kept in pool tags
    NONE = "none"  # leave the pool alone; its autoscaler drains it


class ChannelKind(StrEnum):
    """Where a heads-up goes (scaling/notify)."""

    TEAMS = "teams"  # a Teams Workflows webhook: an Adaptive Card
    SLACK = "slack"  # a Slack incoming webhook: Block Kit
    WEBHOOK = "webhook"  # any HTTPS endpoint: JSON signed with HMAC-SHA256


@dataclass(frozen=True, order=True)
class NotifyChannel:
    """One `Notify` entry: `<kind>:<setting>`. The webhook URL is a secret, so the row names only the app
    setting that holds it (a Key Vault reference in Azure), never the URL."""

    kind: ChannelKind
    setting: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.setting}"


class Release(StrEnum):
    """When the app gives back what it holds of something no enabled project claims any longer."""

    NOW = "now"  # at the next tick
    AT_OPENING = "at-opening"  # at the project's next opening time (its pools at their warm-up)


class WorkloadKind(StrEnum):
    DEPLOYMENT = "deployment"
    STATEFULSET = "statefulset"


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """One Deployment or StatefulSet in one cluster."""

    kind: WorkloadKind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class WorkloadSelector:
    """A `Workloads` / `Exclude` entry: `deployment/name` or `statefulset/name`."""

    kind: WorkloadKind
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value}/{self.name}"


@dataclass(frozen=True)
class ScheduleSpec:
    """The schedule columns of a row, as written; `schedule` is the parsed form."""

    uptime: str | None = None
    downtime: str | None = None
    timezone: str = "UTC"
    holidays: str | None = None
    closed_dates: str | None = None


@dataclass(frozen=True)
class Project:
    """One validated project row; `schedule` is its parsed business hours."""

    name: str
    cluster: ClusterId
    namespaces: tuple[str, ...]
    spec: ScheduleSpec
    schedule: Schedule = field(compare=False, repr=False)
    workloads: tuple[WorkloadSelector, ...] = ()  # empty: every workload in the namespaces
    exclude: tuple[WorkloadSelector, ...] = ()
    node_pools: tuple[str, ...] = ()
    node_pool_action: NodePoolAction = NodePoolAction.ZERO
    warmup_minutes: int = 0
    max_override_hours: int | None = None  # MaxOverrideHours; None: SCALING_MAX_OVERRIDE_HOURS
    access: Access = Access.API
    enabled: bool = True
    dry_run: bool = False
    notify: tuple[NotifyChannel, ...] = ()  # heads-ups before scheduled down transitions
    notify_minutes: int = 15  # the heads-up's lead time
    notify_after: bool = False  # also a short message once the project went down
    release: Release = Release.NOW

    def manages(self, ref: WorkloadRef) -> bool:
        """True when `ref` belongs to this project (namespace, Workloads and Exclude)."""
        if ref.namespace not in self.namespaces:
            return False
        selector = WorkloadSelector(ref.kind, ref.name)
        if selector in self.exclude:
            return False
        return not self.workloads or selector in self.workloads


@dataclass(frozen=True)
class ProjectError:
    """A row that could not be loaded: which project, which column, what is wrong."""

    project: str
    column: str
    message: str

    def __str__(self) -> str:
        return f"project {self.project!r}, column {self.column}: {self.message}"
