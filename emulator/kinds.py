"""The Kubernetes resource kinds the emulator serves, with what discovery says about each."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    group: str  # "" for the core group
    version: str
    plural: str
    kind: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    scalable: bool = False  # has a `scale` subresource (autoscaling/v1 Scale)
    has_status: bool = True
    keda_only: bool = False  # served only on clusters whose config says `keda: true`

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """The name kubectl and error messages use, e.g. `deployments.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        """The URL prefix of the group version: /api/v1 or /apis/<group>/<version>."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"


NAMESPACES = Kind("", "v1", "namespaces", "Namespace", ("ns",), namespaced=False)
DEPLOYMENTS = Kind("apps", "v1", "deployments", "Deployment", ("deploy",), scalable=True)
STATEFULSETS = Kind("apps", "v1", "statefulsets", "StatefulSet", ("sts",), scalable=True)
HPAS = Kind("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", ("hpa",))
CRONJOBS = Kind("batch", "v1", "cronjobs", "CronJob", ("cj",))
JOBS = Kind("batch", "v1", "jobs", "Job")
SCALED_OBJECTS = Kind("keda.sh", "v1alpha1", "scaledobjects", "ScaledObject", ("so",), keda_only=True)

ALL = (NAMESPACES, DEPLOYMENTS, STATEFULSETS, HPAS, CRONJOBS, JOBS, SCALED_OBJECTS)
BY_PLURAL = {kind.plural: kind for kind in ALL}
WORKLOADS = (DEPLOYMENTS, STATEFULSETS)
POOL_LABELS = ("agentpool", "kubernetes.azure.com/agentpool")  # node labels AKS sets on every node

VERBS = ["create", "get", "list", "patch", "update"]
