"""The Kubernetes API access path: the pure parts, then the real client against the emulator."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from scaling.clusters.kube import KINDS, MERGE_PATCH, api_error, list_scope
from scaling.clusters.runscript import READ_RESOURCES


def test_every_kind_the_run_command_path_reads_is_read_by_the_api_path_too():
    assert {kind.section: kind.resource for kind in KINDS} == dict(READ_RESOURCES)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.section)
def test_every_kind_names_real_client_methods(kind):
    api = kind.api(k8s.ApiClient())
    for method in filter(None, (kind.list_all, kind.list_namespaced, kind.patch)):
        assert callable(getattr(api, method, None)), f"{type(api).__name__}.{method}"


def test_the_client_would_send_a_dict_patch_as_json_patch_so_merge_patch_is_forced():
    # Why kube.py passes _content_type: kubernetes 36 picks the first PATCH type listed.
    chosen = k8s.ApiClient().select_header_content_type(
        ["application/json-patch+json", MERGE_PATCH, "application/strategic-merge-patch+json"], "PATCH", {"spec": {}}
    )
    assert chosen == "application/json-patch+json"


@pytest.mark.parametrize(
    "namespaces, scope",
    [(["project-a"], "project-a"), (["project-a", "project-b"], None), (["a", "b", "c"], None)],
)
def test_one_namespace_is_listed_alone_and_several_in_one_cluster_wide_list(namespaces, scope):
    assert list_scope(namespaces) == scope


def test_api_errors_read_the_status_message():
    error = ApiException(status=403, reason="Forbidden")
    error.body = '{"kind":"Status","message":"deployments.apps is forbidden: User \\"x\\" cannot list"}'
    assert api_error(error) == 'HTTP 403 Forbidden: deployments.apps is forbidden: User "x" cannot list'


def test_api_errors_without_a_json_body_keep_the_text():
    error = ApiException(status=502, reason="Bad Gateway")
    error.body = "<html>upstream</html>"
    assert api_error(error) == "HTTP 502 Bad Gateway: <html>upstream</html>"


# --- against the emulator, with the real kubernetes client ------------------------------------------

import dataclasses  # noqa: E402

from scaling.clusters.clients import Clients  # noqa: E402
from scaling.clusters.kube import KubeApiBackend  # noqa: E402
from scaling.model import WorkloadKind, WorkloadRef  # noqa: E402
from scaling.names import ClusterId  # noqa: E402
from scaling.plan.actions import Direction, ObjectChange, Result, Why  # noqa: E402
from scaling.settings import Settings  # noqa: E402


def emulator_settings(emu, *, kubeconfig: bool = True) -> Settings:
    """The app's settings against the emulator: local kubeconfig, or kubeconfig from ARM + Entra token."""
    return Settings(
        arm_endpoint=emu.arm_url,
        arm_ca_bundle=emu.ca_cert,
        local_credential=True,
        kubeconfig=emu.kubeconfig if kubeconfig else None,
    )


def cluster_of(emu, name: str = "aks-demo") -> ClusterId:
    return ClusterId(emu.subscription, emu.resource_group, name)


def kube_calls(emu) -> list[tuple[str, str]]:
    """(method, route template) of every Kubernetes request; the concrete path where no route matched."""
    return sorted(
        (call.method, call.path if call.route == "(unknown)" else call.route) for call in emu.call_log(service="kube")
    )


def change_of(cluster: ClusterId, resource: str, namespace: str, name: str, patch: dict) -> ObjectChange:
    return ObjectChange(cluster, resource, namespace, name, patch, "before", "after", Direction.DOWN, Why("test"))


@pytest.fixture
def backend(emu):
    emu.finish_operations()  # a settled cluster: no status write changes a resourceVersion mid-test
    return KubeApiBackend(Clients(emulator_settings(emu)))


@pytest.mark.integration
def test_observe_of_one_namespace_is_one_namespaced_list_per_kind(emu, backend):
    seen = backend.observe(cluster_of(emu), ["project-b"])
    assert seen.error is None
    assert kube_calls(emu) == sorted(
        [
            ("GET", "/apis/apps/v1/namespaces/{namespace}/deployments"),
            ("GET", "/apis/apps/v1/namespaces/{namespace}/statefulsets"),
            ("GET", "/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"),
            ("GET", "/apis/batch/v1/namespaces/{namespace}/cronjobs"),
            ("GET", "/apis/batch/v1/namespaces/{namespace}/jobs"),
            ("GET", "/apis/keda.sh/v1alpha1/namespaces/project-b/scaledobjects"),  # 404: no KEDA here
        ]
    )
    assert emu.calls(service="arm") == 0  # local kubeconfig: no ARM call at all


@pytest.mark.integration
def test_observe_of_several_namespaces_is_one_cluster_wide_list_per_kind(emu, backend):
    seen = backend.observe(cluster_of(emu), ["project-a", "project-b"])
    assert seen.error is None
    assert kube_calls(emu) == sorted(
        [
            ("GET", "/apis/apps/v1/deployments"),
            ("GET", "/apis/apps/v1/statefulsets"),
            ("GET", "/apis/autoscaling/v2/horizontalpodautoscalers"),
            ("GET", "/apis/batch/v1/cronjobs"),
            ("GET", "/apis/batch/v1/jobs"),
            ("GET", "/apis/keda.sh/v1alpha1/scaledobjects"),  # 404: no KEDA here
        ]
    )
    # Only the requested namespaces are kept from the cluster-wide lists.
    assert {w.ref.namespace for w in seen.workloads} == {"project-a", "project-b"}


@pytest.mark.integration
def test_observe_sees_workloads_autoscalers_and_cronjobs_as_the_cluster_has_them(emu, backend):
    seen = backend.observe(cluster_of(emu), ["project-a", "project-b"])
    app = seen.workload(WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a"))
    assert (app.replicas, app.node_pool) == (2, "projecta")
    cache = seen.workload(WorkloadRef(WorkloadKind.STATEFULSET, "project-b", "model-cache"))
    assert (cache.replicas, cache.node_pool) == (1, "gpu")
    (hpa,) = seen.hpas
    assert hpa.target == WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a2")
    assert (hpa.min_replicas, hpa.max_replicas) == (1, 3)
    (cronjob,) = seen.cronjobs
    assert (cronjob.name, cronjob.suspend) == ("nightly-reindex", False)


@pytest.mark.integration
def test_a_cluster_without_the_keda_crd_is_observed_without_error(emu, backend):
    seen = backend.observe(cluster_of(emu), ["project-a"])
    assert seen.error is None and not seen.keda_installed and seen.scaled_objects == ()


@pytest.mark.integration
def test_keda_scaled_objects_are_observed_where_the_crd_is_installed(emu, backend):
    seen = backend.observe(cluster_of(emu, "aks-private"), ["nightly-batch"])
    assert seen.error is None and seen.keda_installed
    (scaled,) = seen.scaled_objects
    assert scaled.target == WorkloadRef(WorkloadKind.DEPLOYMENT, "nightly-batch", "batch-worker")
    assert scaled.paused_replicas is None and not scaled.paused_by_app


@pytest.mark.integration
def test_kubeconfig_from_arm_and_an_entra_token_reach_the_api_server(emu):
    backend = KubeApiBackend(Clients(emulator_settings(emu, kubeconfig=False)))
    first = backend.observe(cluster_of(emu), ["project-a"])
    backend.observe(cluster_of(emu), ["project-a"])
    assert first.error is None and len(first.workloads) == 2
    # The kubeconfig is fetched once per process, not per tick.
    assert emu.calls(service="arm", route="*listClusterUserCredential*") == 1


@pytest.mark.integration
def test_a_failed_list_fails_the_clusters_look_with_the_reason(emu, backend):
    emu.fail(403, service="kube", route="*/statefulsets")
    seen = backend.observe(cluster_of(emu), ["project-a"])
    assert seen.error is not None and "listing statefulsets failed: HTTP 403" in seen.error


@pytest.mark.integration
def test_scaling_down_is_one_merge_patch_with_replicas_and_the_original_size(emu, backend):
    cluster = cluster_of(emu)
    web = backend.observe(cluster, ["project-a"]).workload(
        WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a")
    )
    emu.reset_calls()
    patch = {
        "metadata": {"resourceVersion": web.resource_version, "annotations": {"aks-hours/original-replicas": "2"}},
        "spec": {"replicas": 0},
    }
    (outcome,) = backend.apply(cluster, [change_of(cluster, "deployments.apps", "project-a", "sample-app-a", patch)])
    assert outcome.result is Result.OK, outcome.error
    assert kube_calls(emu) == [("PATCH", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}")]
    stored = emu.cluster("aks-demo").deployment("project-a", "sample-app-a")
    assert stored["spec"]["replicas"] == 0
    assert stored["metadata"]["annotations"]["aks-hours/original-replicas"] == "2"


@pytest.mark.integration
def test_restoring_removes_the_annotation_in_the_same_patch(emu, backend):
    cluster = cluster_of(emu)
    emu.cluster("aks-demo").patch(
        "deployments",
        "project-a",
        "sample-app-a",
        {"metadata": {"annotations": {"aks-hours/original-replicas": "2"}}, "spec": {"replicas": 0}},
    )
    seen = backend.observe(cluster, ["project-a"]).workload(
        WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a")
    )
    assert seen.original_replicas == 2
    patch = {
        "metadata": {"resourceVersion": seen.resource_version, "annotations": {"aks-hours/original-replicas": None}},
        "spec": {"replicas": 2},
    }
    (outcome,) = backend.apply(cluster, [change_of(cluster, "deployments.apps", "project-a", "sample-app-a", patch)])
    assert outcome.result is Result.OK
    stored = emu.cluster("aks-demo").deployment("project-a", "sample-app-a")
    assert stored["spec"]["replicas"] == 2 and "aks-hours/original-replicas" not in (
        stored["metadata"].get("annotations") or {}
    )


@pytest.mark.integration
def test_a_patch_over_a_newer_object_is_busy_and_changes_nothing(emu, backend):
    cluster = cluster_of(emu)
    web = backend.observe(cluster, ["project-a"]).workload(
        WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a")
    )
    emu.cluster("aks-demo").set_replicas("deployments", "project-a", "sample-app-a", 5)  # someone else, meanwhile
    patch = {"metadata": {"resourceVersion": web.resource_version}, "spec": {"replicas": 0}}
    (outcome,) = backend.apply(cluster, [change_of(cluster, "deployments.apps", "project-a", "sample-app-a", patch)])
    assert outcome.result is Result.BUSY and "re-read next tick" in outcome.error
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 5


@pytest.mark.integration
def test_one_failing_object_does_not_stop_the_others(emu, backend):
    cluster = cluster_of(emu)
    changes = [
        change_of(cluster, "deployments.apps", "project-a", "gone", {"spec": {"replicas": 0}}),
        change_of(cluster, "deployments.apps", "project-a", "sample-app-a", {"spec": {"replicas": 1}}),
        change_of(cluster, "secrets", "project-a", "sample-app-a", {"data": {}}),
    ]
    missing, done, refused = backend.apply(cluster, changes)
    assert missing.result is Result.FAILED and "not found" in missing.error
    assert done.result is Result.OK
    assert refused.result is Result.FAILED and "cannot be patched" in refused.error


@pytest.mark.integration
def test_an_unreachable_api_server_fails_each_change_with_the_reason(emu, backend):
    cluster = cluster_of(emu)
    emu.drop(service="kube", method="PATCH")
    (outcome,) = backend.apply(
        cluster, [change_of(cluster, "deployments.apps", "project-a", "sample-app-a", {"spec": {"replicas": 1}})]
    )
    assert outcome.result is Result.FAILED and "unreachable" in outcome.error


@pytest.mark.integration
def test_hpa_cronjob_and_scaled_object_are_patched_the_same_way(emu, backend):
    demo, private = cluster_of(emu), cluster_of(emu, "aks-private")
    hpa_patch = {
        "metadata": {"annotations": {"aks-hours/original-min-replicas": "1"}},
        "spec": {"minReplicas": 1, "maxReplicas": 1},
    }
    cron_patch = {"metadata": {"annotations": {"aks-hours/original-suspend": "false"}}, "spec": {"suspend": True}}
    keda_patch = {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0", "aks-hours/paused": "true"}}}
    outcomes = backend.apply(
        demo,
        [
            change_of(demo, "horizontalpodautoscalers.autoscaling", "project-a", "sample-app-a2", hpa_patch),
            change_of(demo, "cronjobs.batch", "project-b", "nightly-reindex", cron_patch),
        ],
    ) + backend.apply(
        private, [change_of(private, "scaledobjects.keda.sh", "nightly-batch", "batch-worker", keda_patch)]
    )
    assert [o.result for o in outcomes] == [Result.OK] * 3, [o.error for o in outcomes]
    seen = backend.observe(demo, ["project-a", "project-b"])
    assert seen.hpas[0].original_min == 1 and seen.hpas[0].max_replicas == 1
    assert seen.cronjobs[0].suspend and seen.cronjobs[0].original_suspend is False
    (scaled,) = backend.observe(private, ["nightly-batch"]).scaled_objects
    assert scaled.paused_replicas == "0" and scaled.paused_by_app


@pytest.mark.integration
def test_changes_run_concurrently_up_to_the_limit(emu, backend):
    cluster = cluster_of(emu)
    emu.slow(0.3, service="kube", method="PATCH")
    changes = [
        change_of(cluster, "deployments.apps", "project-a", name, {"spec": {"replicas": 1}})
        for name in ("sample-app-a", "sample-app-a2")
    ] * 2
    import time

    started = time.monotonic()
    outcomes = backend.apply(cluster, changes, concurrency=4)
    assert [o.result for o in outcomes] == [Result.OK] * 4
    assert time.monotonic() - started < 0.9  # four 0.3 s patches side by side, not one after another
    assert dataclasses.asdict(outcomes[0])["duration_ms"] >= 300
