"""The Kubernetes RBAC the app needs, derived from what its code really sends, against what manifests/rbac grants.

Both access paths observe (one namespace and several) and patch every kind they may patch, against the
emulator; each Kubernetes request it records becomes a (group, resource, verb) rule: namespaced ones
belong to the aks-hours-scaler Role, cluster-wide ones to the aks-hours-lister ClusterRole. Discovery
(/api, /apis, /version, group versions) is open to every authenticated user and is left out.
"""

from __future__ import annotations

import re

import pytest

from scaling.clusters.clients import Clients
from scaling.clusters.kube import PATCHABLE, KubeApiBackend
from scaling.clusters.runcommand import RunCommandBackend
from scaling.names import ClusterId
from scaling.plan.actions import Direction, ObjectChange, Result, Why
from scaling.settings import Settings
from tests.infra.rbac_rules import Rule, load_cluster_role_rules, load_role_rules

VERBS = {"GET": "get", "PATCH": "patch", "PUT": "update", "POST": "create", "DELETE": "delete"}
_RESOURCE_PATH = re.compile(
    r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))"
    r"(?:/namespaces/(?P<namespace>[^/]+))?/(?P<plural>[^/]+)(?:/(?P<name>[^/]+)(?:/(?P<sub>[^/]+))?)?$"
)

# One object of each patchable kind: (cluster, resource, namespace, name).
TARGETS = [
    ("aks-demo", "deployments.apps", "project-a", "sample-app-a"),
    ("aks-demo", "statefulsets.apps", "project-b", "model-cache"),
    ("aks-demo", "horizontalpodautoscalers.autoscaling", "project-a", "sample-app-a2"),
    ("aks-demo", "cronjobs.batch", "project-b", "nightly-reindex"),
    ("aks-private", "scaledobjects.keda.sh", "nightly-batch", "batch-worker"),
]


def rule_of(method: str, path: str) -> tuple[bool, Rule] | None:
    """(namespaced, rule) for a resource request; None for discovery."""
    match = _RESOURCE_PATH.match(path)
    if match is None or (match["namespace"] is None and match["plural"] == "namespaces" and match["name"]):
        return None
    if match["version"] is None and match["core"] is None:
        return None
    group = match["group"] or ""
    resource = match["plural"] + (f"/{match['sub']}" if match["sub"] else "")
    verb = VERBS[method]
    if method == "GET" and match["name"] is None:
        verb = "list"
    return match["namespace"] is not None, (group, resource, verb)


def derived_rules(emu) -> tuple[set[Rule], set[Rule]]:
    """(namespaced, cluster-wide) rules of every Kubernetes request the emulator recorded."""
    namespaced: set[Rule] = set()
    cluster_wide: set[Rule] = set()
    for call in emu.call_log(service="kube"):
        path = call.path if call.route == "(unknown)" else call.route
        if not path.startswith("/apis/") and not path.startswith("/api/"):
            continue
        # Group-version discovery (/apis/apps/v1) has no resource part.
        if re.fullmatch(r"/apis/[^/]+(/[^/]+)?|/api/v1", path):
            continue
        found = rule_of(call.method, path)
        assert found is not None, f"unexpected request {call.method} {path}"
        (namespaced if found[0] else cluster_wide).add(found[1])
    return namespaced, cluster_wide


def exercise_every_call(emu) -> None:
    """Observe and patch through both access paths, as the reconcile loop would."""
    settings = Settings(
        arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, local_credential=True, kubeconfig=emu.kubeconfig
    )
    emu.finish_operations()
    backends = [KubeApiBackend(Clients(settings)), RunCommandBackend(Clients(settings), poll_interval=0.05)]
    for backend in backends:
        for cluster_name, namespaces in [
            ("aks-demo", ["project-a"]),
            ("aks-demo", ["project-a", "project-b"]),
            ("aks-private", ["nightly-batch"]),
        ]:
            cluster = ClusterId(emu.subscription, emu.resource_group, cluster_name)
            assert backend.observe(cluster, namespaces).error is None
        for cluster_name, resource, namespace, name in TARGETS:
            cluster = ClusterId(emu.subscription, emu.resource_group, cluster_name)
            change = ObjectChange(
                cluster,
                resource,
                namespace,
                name,
                {"metadata": {"labels": {"rbac-probe": "1"}}},
                "-",
                "-",
                Direction.DOWN,
                Why("rbac"),
            )
            (outcome,) = backend.apply(cluster, [change])
            assert outcome.result is Result.OK, outcome.error
    emu.finish_operations()


@pytest.fixture(scope="module")
def needed(emulator) -> tuple[set[Rule], set[Rule]]:
    emulator.reset()  # once for the module: the calls take a few seconds
    try:
        exercise_every_call(emulator)
        return derived_rules(emulator)
    finally:
        emulator.reset()


def test_every_patchable_kind_is_exercised():
    assert {resource for _, resource, _, _ in TARGETS} == set(PATCHABLE)


@pytest.mark.integration
def test_the_role_grants_every_namespaced_call_the_code_makes(needed):
    namespaced, _ = needed
    missing = namespaced - load_role_rules()
    assert not missing, f"manifests/rbac Role aks-hours-scaler lacks {sorted(missing)}"


@pytest.mark.integration
def test_the_cluster_role_grants_every_cluster_wide_call_the_code_makes(needed):
    _, cluster_wide = needed
    assert cluster_wide == load_cluster_role_rules()


@pytest.mark.integration
def test_the_role_grants_nothing_the_code_does_not_use(needed):
    namespaced, _ = needed
    unused = load_role_rules() - namespaced
    assert not unused, f"granted but never used: {sorted(unused)}"
