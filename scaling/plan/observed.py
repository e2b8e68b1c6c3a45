"""What one look at a cluster saw: workloads, autoscalers, CronJobs and node pools, as plain values.

This is the contract between the observers (scaling/clusters/kube.py, scaling/clusters/nodepools.py) and the pure
planner (scaling/plan/decide.py). Remembered originals are parsed from annotations / tags by the observers,
so the planner never reads raw objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from scaling.model import WorkloadRef
from scaling.names import ClusterId


@dataclass(frozen=True)
class ObservedWorkload:
    """A Deployment or StatefulSet."""

    ref: WorkloadRef
    replicas: int
    ready_replicas: int
    resource_version: str
    original_replicas: int | None = None  # aks-hours/original-replicas, when the app scaled it down
    excluded: bool = False  # aks-hours/exclude: "true"
    own_uptime: str | None = None  # aks-hours/uptime
    min_replicas: int | None = None  # aks-hours/min-replicas
    node_pool: str | None = None  # from the pod template's nodeSelector `agentpool`, when set
    annotation_errors: tuple[str, ...] = ()  # unparseable aks-hours/* annotations, reported not fatal
    # What the reference Scale API reports (scaling/api/reference.py): pods created (status.replicas),
    # pods available (status.availableReplicas), and the object's creation time.
    current_replicas: int = 0
    available_replicas: int = 0
    created: datetime | None = None
    owner: str | None = None  # aks-hours/project: the project that scaled it down, when the app did


@dataclass(frozen=True)
class ObservedHpa:
    """A HorizontalPodAutoscaler (autoscaling/v2) and the workload it targets."""

    namespace: str
    name: str
    target: WorkloadRef
    min_replicas: int
    max_replicas: int
    resource_version: str
    original_min: int | None = None  # aks-hours/original-min-replicas
    original_max: int | None = None  # aks-hours/original-max-replicas


@dataclass(frozen=True)
class ObservedScaledObject:
    """A KEDA ScaledObject and the workload it targets."""

    namespace: str
    name: str
    target: WorkloadRef
    paused_replicas: str | None  # autoscaling.keda.sh/paused-replicas as found
    paused_by_app: bool  # aks-hours/paused: the app set the pause, so it may lift it
    resource_version: str


@dataclass(frozen=True)
class ObservedCronJob:
    namespace: str
    name: str
    suspend: bool
    resource_version: str
    original_suspend: bool | None = None  # aks-hours/original-suspend
    active_jobs: int = 0  # Jobs of this CronJob still running
    annotation_errors: tuple[str, ...] = ()  # unparseable aks-hours/* annotations, reported not fatal


@dataclass(frozen=True)
class PoolSize:
    """The settings of a node pool that scaling changes and must restore exactly."""

    count: int
    enable_auto_scaling: bool
    min_count: int | None
    max_count: int | None
    power_state: str = "Running"  # Running | Stopped


@dataclass(frozen=True)
class ObservedPool:
    name: str
    mode: str  # System | User
    vm_size: str
    size: PoolSize
    provisioning_state: str  # Succeeded | Updating | Scaling | Starting | Stopping | Failed ...
    tags: Mapping[str, str] = field(default_factory=dict)
    original: PoolSize | None = None  # from the aks-hours-original-* tags
    tag_errors: tuple[str, ...] = ()
    owner: str | None = None  # aks-hours-project: the project that scaled it down, when the app did

    @property
    def busy(self) -> bool:
        """An operation is in progress: a PUT now would get 409."""
        return self.provisioning_state not in ("Succeeded", "Failed", "Canceled")


@dataclass(frozen=True)
class ObservedCluster:
    """Everything one tick saw of one cluster. `error` set means the look failed; plan nothing for it."""

    cluster: ClusterId
    workloads: tuple[ObservedWorkload, ...] = ()
    pools: tuple[ObservedPool, ...] = ()
    hpas: tuple[ObservedHpa, ...] = ()
    scaled_objects: tuple[ObservedScaledObject, ...] = ()
    cronjobs: tuple[ObservedCronJob, ...] = ()
    keda_installed: bool = False
    error: str | None = None

    def workload(self, ref: WorkloadRef) -> ObservedWorkload | None:
        return next((w for w in self.workloads if w.ref == ref), None)

    def pool(self, name: str) -> ObservedPool | None:
        return next((p for p in self.pools if p.name == name), None)
