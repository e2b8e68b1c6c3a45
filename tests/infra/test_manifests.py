"""manifests/: offline schema validation (kubernetes-validate), workload hygiene, and the app's RBAC."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import all_versions

from tests.infra import rbac_rules

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "manifests"
# Newest schema set bundled with kubernetes-validate 1.37.0, plus the oldest Kubernetes we expect on
# AKS (and the kubectl client on these machines): the manifests must be valid for both.
KUBERNETES_VERSION = "1.37.0"
OLDEST_KUBERNETES_VERSION = "1.32.0"
CORE_GROUP_SUFFIX = ".k8s.io"
MANAGED_NAMESPACES = {"project-a", "project-b", "nightly-batch"}
ALL_NAMESPACES = MANAGED_NAMESPACES | {"platform-tools", "scale-system"}
# Containers without probes, and why (the rule is: every long-running container has probes).
NO_PROBES = {
    ("DaemonSet", "nvidia-device-plugin-daemonset"): "no health endpoint; kubelet registration is its health",
    ("CronJob", "nightly-reindex"): "runs to completion; activeDeadlineSeconds bounds a hung run",
}
# Pods that must run as root, and why.
ROOT_ALLOWED = {
    ("DaemonSet", "nvidia-device-plugin-daemonset"): "creates its socket in the root-owned kubelet dir",
}
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job"}


def manifest_files() -> list[Path]:
    return sorted(p for p in MANIFESTS.rglob("*.yaml") if p.name != "kustomization.yaml")


def load_raw_documents() -> list[tuple[Path, dict]]:
    documents = []
    for path in manifest_files():
        with path.open(encoding="utf-8") as handle:
            documents.extend((path, doc) for doc in yaml.safe_load_all(handle) if doc)
    return documents


DOCUMENTS = load_raw_documents()


def doc_id(entry: tuple[Path, dict]) -> str:
    path, doc = entry
    namespace = doc["metadata"].get("namespace", "")
    return f"{doc['kind']}/{namespace + '/' if namespace else ''}{doc['metadata']['name']}"


def find(kind: str, name: str) -> dict:
    matches = [doc for _, doc in DOCUMENTS if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected exactly one {kind}/{name}, found {len(matches)}"
    return matches[0]


def pod_spec(doc: dict) -> dict:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def workloads() -> list[tuple[Path, dict]]:
    return [(path, doc) for path, doc in DOCUMENTS if doc["kind"] in WORKLOAD_KINDS]


def is_custom_resource(doc: dict) -> bool:
    group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
    return "." in group and not group.endswith(CORE_GROUP_SUFFIX)


# ------------------------------------------------------------------------------------ schema


def test_pinned_kubernetes_version_is_the_newest_bundled_schema_set():
    assert all_versions()[-1] == KUBERNETES_VERSION
    assert OLDEST_KUBERNETES_VERSION in all_versions()


@pytest.mark.parametrize("version", [KUBERNETES_VERSION, OLDEST_KUBERNETES_VERSION])
@pytest.mark.parametrize("entry", DOCUMENTS, ids=doc_id)
def test_manifest_is_valid_against_the_kubernetes_schema(entry, version):
    path, doc = entry
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.SchemaNotFoundError as error:
        if is_custom_resource(doc):
            pytest.skip(f"{doc['apiVersion']} {doc['kind']} is a CRD; kubernetes-validate bundles no schema for it")
        pytest.fail(f"{path.relative_to(ROOT)}: {error.message}")
    except kubernetes_validate.ValidationError as error:
        location = "/".join(str(part) for part in error.path)
        pytest.fail(f"{path.relative_to(ROOT)} {doc_id(entry)} at {location}: {error.message}")


def test_kustomization_lists_every_manifest_file_once():
    kustomization = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed))
    assert sorted(MANIFESTS / item for item in listed) == manifest_files()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_build_yields_exactly_the_raw_documents():
    result = subprocess.run(
        ["kubectl", "kustomize", str(MANIFESTS)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    key = lambda doc: (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])  # noqa: E731
    assert sorted(map(key, built)) == sorted(key(doc) for _, doc in DOCUMENTS)
    # Kustomize must not rewrite the placeholder the apply step substitutes.
    assert "${APP_PRINCIPAL_ID}" in result.stdout


# ------------------------------------------------------------------------------------ content


def test_namespaces_are_the_reference_set():
    names = {doc["metadata"]["name"] for _, doc in DOCUMENTS if doc["kind"] == "Namespace"}
    assert names == ALL_NAMESPACES


def test_managed_namespaces_are_labelled_and_have_the_role():
    labelled = {
        doc["metadata"]["name"]
        for _, doc in DOCUMENTS
        if doc["kind"] == "Namespace" and doc["metadata"]["labels"].get("aks-hours.io/managed") == "true"
    }
    assert labelled == MANAGED_NAMESPACES == rbac_rules.managed_namespaces()


def test_managed_namespaces_match_the_infra_parameter():
    parameters = json.loads((ROOT / "infra" / "main.parameters.json").read_text(encoding="utf-8"))
    assert set(parameters["parameters"]["managedNamespaces"]["value"]) == MANAGED_NAMESPACES


@pytest.mark.parametrize(
    ("name", "replicas"), [("sample-app-a", 2), ("sample-app-b", 1)], ids=["sample-app-a", "sample-app-b"]
)
def test_nginx_sample_runs_in_project_a_on_the_projecta_pool(name, replicas):
    deployment = find("Deployment", name)
    assert deployment["metadata"]["namespace"] == "project-a"
    assert deployment["spec"]["replicas"] == replicas
    assert pod_spec(deployment)["nodeSelector"] == {"kubernetes.azure.com/agentpool": "projecta"}
    assert "nginx" in pod_spec(deployment)["containers"][0]["image"]


def test_hpa_targets_sample_app_b_in_its_namespace():
    hpa = find("HorizontalPodAutoscaler", "sample-app-b")
    assert hpa["metadata"]["namespace"] == "project-a"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sample-app-b"}


def test_triton_asks_for_one_gpu_on_the_gpu_pool_and_tolerates_its_taint():
    triton = find("Deployment", "triton-resnet50")
    spec = pod_spec(triton)
    container = spec["containers"][0]
    assert triton["metadata"]["namespace"] == "project-b"
    assert "tritonserver" in container["image"]
    assert container["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert spec["nodeSelector"] == {"kubernetes.azure.com/agentpool": "gpu"}
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in spec["tolerations"]


def test_device_plugin_runs_on_gpu_nodes_in_kube_system():
    plugin = find("DaemonSet", "nvidia-device-plugin-daemonset")
    spec = pod_spec(plugin)
    assert plugin["metadata"]["namespace"] == "kube-system"
    assert {"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"} in spec["tolerations"]
    # The node label it selects must be one the gpu pool really carries (infra).
    cluster_bicep = (ROOT / "infra/modules/container-service/managed-cluster.bicep").read_text(encoding="utf-8")
    for key, value in spec["nodeSelector"].items():
        assert re.search(rf"'?{re.escape(key)}'?: '{re.escape(value)}'", cluster_bicep), (key, value)


def test_nightly_reindex_cronjob_runs_at_two_in_project_b():
    cronjob = find("CronJob", "nightly-reindex")
    assert cronjob["metadata"]["namespace"] == "project-b"
    assert cronjob["spec"]["schedule"] == "0 2 * * *"


def test_every_agent_pool_selected_by_a_workload_exists_in_the_demo_cluster():
    cluster_bicep = (ROOT / "infra/modules/container-service/managed-cluster.bicep").read_text(encoding="utf-8")
    pools = set(re.findall(r"name: '([a-z0-9]+)'\n\s+mode: '(?:System|User)'", cluster_bicep))
    assert pools == {"system", "projecta", "gpu"}
    for _, doc in workloads():
        selected = pod_spec(doc).get("nodeSelector", {}).get("kubernetes.azure.com/agentpool")
        assert selected is None or selected in pools, doc_id((None, doc))


# ------------------------------------------------------------------------------------ hygiene


def containers_of(doc: dict) -> list[tuple[str, dict]]:
    spec = pod_spec(doc)
    return [("init", c) for c in spec.get("initContainers", [])] + [("main", c) for c in spec["containers"]]


WORKLOAD_IDS = [doc_id(entry) for entry in workloads()]


@pytest.mark.parametrize("entry", workloads(), ids=WORKLOAD_IDS)
def test_every_container_requests_cpu_and_memory_and_limits_memory(entry):
    _, doc = entry
    for _, container in containers_of(doc):
        resources = container.get("resources", {})
        assert {"cpu", "memory"} <= set(resources.get("requests", {})), container["name"]
        assert "memory" in resources.get("limits", {}), container["name"]


@pytest.mark.parametrize("entry", workloads(), ids=WORKLOAD_IDS)
def test_every_long_running_container_has_readiness_and_liveness_probes(entry):
    _, doc = entry
    if (doc["kind"], doc["metadata"]["name"]) in NO_PROBES:
        pytest.skip(NO_PROBES[(doc["kind"], doc["metadata"]["name"])])
    for role, container in containers_of(doc):
        if role == "main":
            assert "readinessProbe" in container and "livenessProbe" in container, container["name"]


@pytest.mark.parametrize("entry", workloads(), ids=WORKLOAD_IDS)
def test_every_container_is_locked_down(entry):
    _, doc = entry
    spec = pod_spec(doc)
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec.get("automountServiceAccountToken") is False
    for _, container in containers_of(doc):
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["capabilities"]["drop"] == ["ALL"], container["name"]
        assert not context.get("privileged", False), container["name"]


@pytest.mark.parametrize("entry", workloads(), ids=WORKLOAD_IDS)
def test_every_pod_runs_as_non_root_unless_documented(entry):
    _, doc = entry
    key = (doc["kind"], doc["metadata"]["name"])
    if key in ROOT_ALLOWED:
        pytest.skip(ROOT_ALLOWED[key])
    spec = pod_spec(doc)
    assert spec["securityContext"]["runAsNonRoot"] is True
    # A numeric uid lets the kubelet verify runAsNonRoot even when the image names its user.
    assert spec["securityContext"]["runAsUser"] > 0


@pytest.mark.parametrize("entry", workloads(), ids=WORKLOAD_IDS)
def test_every_image_is_pinned_to_a_version(entry):
    _, doc = entry
    for _, container in containers_of(doc):
        image = container["image"]
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest", image


@pytest.mark.parametrize("entry", DOCUMENTS, ids=doc_id)
def test_every_object_carries_the_recommended_labels(entry):
    _, doc = entry
    labels = doc["metadata"].get("labels", {})
    assert {"app.kubernetes.io/part-of", "app.kubernetes.io/managed-by"} <= set(labels)
    if doc["kind"] in WORKLOAD_KINDS:
        assert {"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component"} <= set(labels)


@pytest.mark.parametrize("entry", [e for e in workloads() if e[1]["kind"] != "CronJob"], ids=lambda e: doc_id(e))
def test_selector_matches_the_pod_template_labels(entry):
    _, doc = entry
    selector = doc["spec"]["selector"]["matchLabels"]
    template_labels = doc["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= template_labels.items()


# ------------------------------------------------------------------------------------ RBAC

EXPECTED_ROLE_RULES = {
    *(("apps", kind, verb) for kind in ("deployments", "statefulsets") for verb in ("get", "list", "patch")),
    *(("autoscaling", "horizontalpodautoscalers", verb) for verb in ("get", "list", "patch")),
    *(("batch", "cronjobs", verb) for verb in ("get", "list", "patch")),
    ("batch", "jobs", "list"),
    *(("keda.sh", "scaledobjects", verb) for verb in ("get", "list", "patch")),
}


def test_role_grants_exactly_get_list_patch_on_the_managed_kinds():
    assert rbac_rules.load_role_rules() == EXPECTED_ROLE_RULES


def test_role_never_grants_create_update_delete_or_watch():
    verbs = {verb for _, _, verb in rbac_rules.load_role_rules() | rbac_rules.load_cluster_role_rules()}
    assert verbs <= {"get", "list", "patch"}


def test_cluster_role_only_lists_the_kinds_the_role_covers():
    cluster_rules = rbac_rules.load_cluster_role_rules()
    assert {verb for _, _, verb in cluster_rules} == {"list"}
    assert cluster_rules == {rule for rule in EXPECTED_ROLE_RULES if rule[2] == "list"}


def test_cluster_role_covers_what_the_run_command_read_script_lists():
    from scaling.clusters.runscript import READ_RESOURCES

    listed = {(resource.split(".", 1)[1], resource.split(".", 1)[0]) for resource in READ_RESOURCES.values()}
    assert listed == {(group, resource) for group, resource, _ in rbac_rules.load_cluster_role_rules()}


@pytest.mark.parametrize("namespace", sorted(MANAGED_NAMESPACES))
def test_each_managed_namespace_binds_its_role_to_the_app_identity(namespace):
    bindings = [
        doc
        for doc in rbac_rules.load_documents()
        if doc["kind"] == "RoleBinding" and doc["metadata"]["namespace"] == namespace
    ]
    assert len(bindings) == 1
    binding = bindings[0]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": rbac_rules.ROLE_NAME,
    }
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": rbac_rules.APP_SUBJECT}
    ]


def test_cluster_role_binding_binds_only_the_app_identity():
    bindings = [doc for doc in rbac_rules.load_documents() if doc["kind"] == "ClusterRoleBinding"]
    assert len(bindings) == 1
    assert bindings[0]["roleRef"]["name"] == rbac_rules.CLUSTER_ROLE_NAME
    assert [s["name"] for s in bindings[0]["subjects"]] == [rbac_rules.APP_SUBJECT]


@pytest.mark.parametrize(
    "rule",
    [
        {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["get"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["x"], "verbs": ["get"]},
    ],
    ids=["wildcard-resource", "wildcard-verb", "resource-names"],
)
def test_rbac_flattening_refuses_rules_it_cannot_compare_exactly(rule):
    with pytest.raises(ValueError):
        rbac_rules.flatten([rule])
