"""The Kubernetes RBAC granted to the app identity by manifests/rbac, as flat (group, resource, verb) sets.

A test that derives the verbs from the code's real calls (e.g. the emulator's request log) can compare
its set with `load_role_rules()` (namespaced writes and reads) and `load_cluster_role_rules()`
(cluster-wide lists). "" is the core API group; subresources look like "deployments/scale".
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import yaml

RBAC_DIR = Path(__file__).resolve().parents[2] / "manifests" / "rbac"
ROLE_NAME = "aks-hours-scaler"
CLUSTER_ROLE_NAME = "aks-hours-lister"
APP_SUBJECT = "${APP_PRINCIPAL_ID}"

Rule = tuple[str, str, str]  # (api group, resource, verb)


def load_documents(directory: Path = RBAC_DIR) -> list[dict]:
    """Every YAML document under manifests/rbac, in file order."""
    documents: list[dict] = []
    for path in sorted(directory.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            documents.extend(doc for doc in yaml.safe_load_all(handle) if doc)
    return documents


def flatten(rules: Iterable[dict]) -> set[Rule]:
    """PolicyRules -> {(group, resource, verb)}; refuses wildcards and resourceNames, which we never grant."""
    flat: set[Rule] = set()
    for rule in rules:
        if rule.get("resourceNames") or rule.get("nonResourceURLs"):
            raise ValueError(f"rule {rule} uses resourceNames/nonResourceURLs, which aks-hours does not grant")
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    if "*" in (group, resource, verb):
                        raise ValueError(f"rule {rule} uses a wildcard")
                    flat.add((group, resource, verb))
    return flat


def roles_by_namespace(directory: Path = RBAC_DIR) -> dict[str, set[Rule]]:
    """namespace -> rules of the aks-hours Role in that namespace."""
    return {
        doc["metadata"]["namespace"]: flatten(doc.get("rules", []))
        for doc in load_documents(directory)
        if doc["kind"] == "Role" and doc["metadata"]["name"] == ROLE_NAME
    }


def load_role_rules(directory: Path = RBAC_DIR) -> set[Rule]:
    """The namespaced grant (identical in every managed namespace; raises if the copies differ)."""
    by_namespace = roles_by_namespace(directory)
    if not by_namespace:
        raise ValueError(f"no Role named {ROLE_NAME} under {directory}")
    first_namespace, first = next(iter(by_namespace.items()))
    for namespace, rules in by_namespace.items():
        if rules != first:
            raise ValueError(
                f"Role {ROLE_NAME} differs between {first_namespace} and {namespace}: {sorted(rules ^ first)}"
            )
    return first


def load_cluster_role_rules(directory: Path = RBAC_DIR) -> set[Rule]:
    """The cluster-wide grant (list only)."""
    for doc in load_documents(directory):
        if doc["kind"] == "ClusterRole" and doc["metadata"]["name"] == CLUSTER_ROLE_NAME:
            return flatten(doc.get("rules", []))
    raise ValueError(f"no ClusterRole named {CLUSTER_ROLE_NAME} under {directory}")


def managed_namespaces(directory: Path = RBAC_DIR) -> set[str]:
    """Namespaces that have the aks-hours Role."""
    return set(roles_by_namespace(directory))
