"""What the planner decides and what acting on it produced: changes, notices and outcomes.

Contract between scaling/plan/decide.py (produces), scaling/clusters/kube.py + scaling/clusters/nodepools.py (apply) and
scaling/storage/audit.py (records). Every change carries what the audit row needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from scaling.names import ClusterId
from scaling.plan.observed import PoolSize


class Trigger(StrEnum):
    SCHEDULE = "schedule"
    OVERRIDE = "override"
    MANUAL = "manual"


class Result(StrEnum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"
    BUSY = "busy"  # pool operation in progress / Kubernetes 409: try again next tick
    DRY_RUN = "dry-run"


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True)
class Why:
    """Who and what asked for a change."""

    project: str
    trigger: Trigger = Trigger.SCHEDULE
    actor: str = "schedule"
    reason: str = ""


@dataclass(frozen=True)
class ObjectChange:
    """A merge patch to one Kubernetes object (Deployment, StatefulSet, HPA, ScaledObject, CronJob).

    `resource` is kubectl's `plural.group` (e.g. `deployments.apps`, see runscript.READ_RESOURCES).
    `patch` is a JSON merge patch holding the bookkeeping annotations, so the size and its remembered
    original change in one request. Workload and CronJob patches also hold `metadata.resourceVersion`
    (a stale write is a 409, retried next tick); HPA and ScaledObject patches do not, because their
    controllers rewrite status every few seconds and the guard would fail every time
    (scaling/plan/autoscalers.py says how their originals stay safe without it).
    `before` / `after` are short human values for the audit (e.g. "2", "0", "suspend=false").
    """

    cluster: ClusterId
    resource: str
    namespace: str
    name: str
    patch: Mapping[str, object]
    before: str
    after: str
    direction: Direction
    why: Why
    holds: str | None = None  # an HPA / ScaledObject change: the workload it holds (`deployment/<ns>/<name>`)

    @property
    def target(self) -> str:
        return f"{self.resource.split('.')[0].rstrip('s')}/{self.namespace}/{self.name}"


@dataclass(frozen=True)
class PoolChange:
    """One agent pool PUT: the new size plus the full tag set to write in the same request."""

    cluster: ClusterId
    pool: str
    before: PoolSize
    after: PoolSize
    tags: Mapping[str, str]
    direction: Direction
    why: Why

    @property
    def target(self) -> str:
        return f"nodepool/{self.pool}"


@dataclass(frozen=True)
class Notice:
    """A decision that changes nothing but must be reported (skipped workload, shared pool, bad annotation)."""

    cluster: ClusterId | None
    target: str
    message: str
    why: Why
    result: Result = Result.SKIPPED


Change = ObjectChange | PoolChange
Action = ObjectChange | PoolChange | Notice


@dataclass(frozen=True)
class Outcome:
    """What applying one change did."""

    action: Action
    result: Result
    error: str | None = None
    duration_ms: int = 0
    detail: Mapping[str, str] = field(default_factory=dict)  # e.g. the ARM operation id of a started LRO
