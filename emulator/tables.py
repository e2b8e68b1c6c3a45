"""Server-side printing (`meta.k8s.io/v1` Table) so plain `kubectl get` shows READY, MINPODS, SCHEDULE..."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator import kinds


def _age(obj: dict, now: datetime) -> str:
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    seconds = max(0, int((now - datetime.fromisoformat(created.replace("Z", "+00:00"))).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _spec(obj: dict) -> dict:
    return obj.get("spec") or {}


def _status(obj: dict) -> dict:
    return obj.get("status") or {}


_COLUMNS: dict[str, list[tuple[str, str, Callable[[dict], Any]]]] = {
    "deployments": [
        ("Ready", "string", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
        ("Up-to-date", "integer", lambda o: _status(o).get("updatedReplicas", 0)),
        ("Available", "integer", lambda o: _status(o).get("availableReplicas", 0)),
    ],
    "statefulsets": [
        ("Ready", "string", lambda o: f"{_status(o).get('readyReplicas', 0)}/{_spec(o).get('replicas', 1)}"),
    ],
    "horizontalpodautoscalers": [
        ("Reference", "string", lambda o: "{kind}/{name}".format(**_spec(o).get("scaleTargetRef", {}))),
        ("MinPods", "integer", lambda o: _spec(o).get("minReplicas", 1)),
        ("MaxPods", "integer", lambda o: _spec(o).get("maxReplicas")),
        ("Replicas", "integer", lambda o: _status(o).get("currentReplicas", 0)),
    ],
    "cronjobs": [
        ("Schedule", "string", lambda o: _spec(o).get("schedule")),
        ("Suspend", "boolean", lambda o: bool(_spec(o).get("suspend"))),
        ("Active", "integer", lambda o: len(_status(o).get("active") or [])),
    ],
    "jobs": [("Active", "integer", lambda o: _status(o).get("active", 0))],
    "scaledobjects": [
        ("ScaleTargetName", "string", lambda o: _spec(o).get("scaleTargetRef", {}).get("name")),
        ("Min", "integer", lambda o: _spec(o).get("minReplicaCount", 0)),
        ("Max", "integer", lambda o: _spec(o).get("maxReplicaCount", 100)),
        (
            "Paused",
            "string",
            lambda o: (o["metadata"].get("annotations") or {}).get("autoscaling.keda.sh/paused-replicas", ""),
        ),
    ],
    "namespaces": [("Status", "string", lambda o: _status(o).get("phase", "Active"))],
}


def wants_table(accept: str | None) -> bool:
    return accept is not None and "as=Table" in accept


def table(kind: kinds.Kind, objects: list[dict], resource_version: str, now: datetime) -> dict:
    columns = [
        ("Name", "string", lambda o: o["metadata"]["name"]),
        *_COLUMNS.get(kind.plural, []),
        ("Age", "string", lambda o: _age(o, now)),
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": kind_, "format": "name" if name == "Name" else "", "description": "", "priority": 0}
            for name, kind_, _ in columns
        ],
        "rows": [
            {
                "cells": [cell(o) for _, _, cell in columns],
                "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]},
            }
            for o in objects
        ],
    }
