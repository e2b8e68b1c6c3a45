"""Kubernetes manifests built from the emulator config (Deployments, StatefulSets, HPAs, CronJobs, ...)."""

from __future__ import annotations

from collections.abc import Mapping

from emulator import kinds


def _meta(
    name: str, namespace: str, labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
) -> dict:
    meta: dict = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def _pod_template(app: str, image: str, pool: str | None) -> dict:
    spec: dict = {"containers": [{"name": app, "image": image}]}
    if pool:
        # AKS labels every node with `agentpool=<pool>`; this is how workloads pin to a pool.
        spec["nodeSelector"] = {"agentpool": pool}
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def workload(
    plural: str,
    namespace: str,
    *,
    name: str,
    replicas: int,
    pool: str | None,
    image: str,
    labels: Mapping[str, str],
    annotations: Mapping[str, str],
) -> dict:
    kind = kinds.BY_PLURAL[plural]
    spec: dict = {
        "replicas": replicas,
        "selector": {"matchLabels": {"app": name}},
        "template": _pod_template(name, image, pool),
    }
    if kind is kinds.STATEFULSETS:
        spec["serviceName"] = name
    return {
        "apiVersion": kind.group_version,
        "kind": kind.kind,
        "metadata": _meta(name, namespace, {"app": name, **labels}, annotations),
        "spec": spec,
    }


def hpa(
    namespace: str, *, name: str, target: str, kind: str, low: int, high: int, annotations: Mapping[str, str]
) -> dict:
    return {
        "apiVersion": kinds.HPAS.group_version,
        "kind": kinds.HPAS.kind,
        "metadata": _meta(name, namespace, None, annotations),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicas": low,
            "maxReplicas": high,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
    }


def cronjob(
    namespace: str, *, name: str, schedule: str, suspend: bool, pool: str | None, annotations: Mapping[str, str]
) -> dict:
    template = _pod_template(name, "busybox:1.36", pool)
    template["spec"]["restartPolicy"] = "OnFailure"
    return {
        "apiVersion": kinds.CRONJOBS.group_version,
        "kind": kinds.CRONJOBS.kind,
        "metadata": _meta(name, namespace, None, annotations),
        "spec": {
            "schedule": schedule,
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"template": template}},
        },
    }


def job(namespace: str, *, name: str, cronjob: str | None, active: int) -> dict:
    meta = _meta(name, namespace)
    if cronjob:
        meta["ownerReferences"] = [
            {
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": cronjob,
                "controller": True,
                "blockOwnerDeletion": True,
                "uid": "",
            }
        ]
    template = _pod_template(name, "busybox:1.36", None)
    template["spec"]["restartPolicy"] = "Never"
    return {
        "apiVersion": kinds.JOBS.group_version,
        "kind": kinds.JOBS.kind,
        "metadata": meta,
        "spec": {"template": template},
        "status": {"active": active} if active else {"succeeded": 1},
    }


def scaled_object(
    namespace: str, *, name: str, target: str, kind: str, low: int, high: int, annotations: Mapping[str, str]
) -> dict:
    return {
        "apiVersion": kinds.SCALED_OBJECTS.group_version,
        "kind": kinds.SCALED_OBJECTS.kind,
        "metadata": _meta(name, namespace, None, annotations),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicaCount": low,
            "maxReplicaCount": high,
            "triggers": [{"type": "azure-servicebus", "metadata": {"queueName": name, "messageCount": "5"}}],
        },
    }


def namespace(name: str, labels: Mapping[str, str], annotations: Mapping[str, str]) -> dict:
    meta: dict = {"name": name, "labels": {"kubernetes.io/metadata.name": name, **labels}}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "status": {"phase": "Active"}}
