"""The emulator's Kubernetes API, driven by the real `kubernetes` client."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration


@pytest.fixture
def apps(kube_client):
    return k8s.AppsV1Api(kube_client("aks-demo"))


def test_lists_deployments_in_all_namespaces(apps):
    names = [(d.metadata.namespace, d.metadata.name) for d in apps.list_deployment_for_all_namespaces().items]
    assert names == [
        ("platform-tools", "metrics-relay"),
        ("project-a", "sample-app-a"),
        ("project-a", "sample-app-a2"),
        ("project-b", "triton-resnet50"),
    ]


def test_lists_deployments_of_one_namespace_by_label_selector(apps):
    found = apps.list_namespaced_deployment("project-a", label_selector="app in (sample-app-a2,other)").items
    assert [d.metadata.name for d in found] == ["sample-app-a2"]


def test_list_pages_with_limit_and_continue(apps):
    first = apps.list_deployment_for_all_namespaces(limit=3)
    assert len(first.items) == 3 and first.metadata._continue
    rest = apps.list_deployment_for_all_namespaces(limit=3, _continue=first.metadata._continue)
    assert [d.metadata.name for d in rest.items] == ["triton-resnet50"] and not rest.metadata._continue


def test_workloads_carry_their_pool_in_the_node_selector(apps):
    triton = apps.read_namespaced_deployment("triton-resnet50", "project-b")
    assert triton.spec.template.spec.node_selector == {"agentpool": "gpu"}
    assert triton.status.ready_replicas == 1


def test_merge_patch_sets_replicas_and_annotation_in_one_request(apps, emu):
    patched = apps.patch_namespaced_deployment(
        "sample-app-a",
        "project-a",
        {"metadata": {"annotations": {"aks-hours/original-replicas": "2"}}, "spec": {"replicas": 0}},
    )
    assert patched.spec.replicas == 0
    assert patched.metadata.annotations == {"aks-hours/original-replicas": "2"}
    stored = emu.cluster("aks-demo").deployment("project-a", "sample-app-a")
    assert int(stored["metadata"]["resourceVersion"]) > int(patched.metadata.resource_version)  # status followed
    assert "readyReplicas" not in stored["status"]  # omitted when 0, as Kubernetes does


def test_null_in_a_merge_patch_removes_an_annotation(apps):
    apps.patch_namespaced_deployment("sample-app-a", "project-a", {"metadata": {"annotations": {"a": "1", "b": "2"}}})
    patched = apps.patch_namespaced_deployment("sample-app-a", "project-a", {"metadata": {"annotations": {"a": None}}})
    assert patched.metadata.annotations == {"b": "2"}


def test_json_patch_is_applied(apps):
    patched = apps.patch_namespaced_deployment(
        "sample-app-a",
        "project-a",
        [{"op": "test", "path": "/spec/replicas", "value": 2}, {"op": "replace", "path": "/spec/replicas", "value": 4}],
    )
    assert patched.spec.replicas == 4


def test_failed_json_patch_test_is_422(apps):
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "sample-app-a", "project-a", [{"op": "test", "path": "/spec/replicas", "value": 9}]
        )
    assert caught.value.status == 422


def test_scale_subresource_reads_and_patches_replicas(apps, emu):
    scale = apps.read_namespaced_deployment_scale("sample-app-a", "project-a")
    assert (scale.spec.replicas, scale.status.selector) == (2, "app=sample-app-a")
    apps.patch_namespaced_deployment_scale("sample-app-a", "project-a", {"spec": {"replicas": 0}})
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 0


def test_scale_subresource_put_with_stale_resource_version_is_409(apps):
    scale = apps.read_namespaced_deployment_scale("sample-app-a", "project-a")
    apps.patch_namespaced_deployment("sample-app-a", "project-a", {"metadata": {"labels": {"touched": "yes"}}})
    scale.spec.replicas = 5
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment_scale("sample-app-a", "project-a", scale)
    assert caught.value.status == 409


def test_replace_with_stale_resource_version_is_409_conflict(apps):
    current = apps.read_namespaced_deployment("sample-app-a", "project-a")
    apps.patch_namespaced_deployment("sample-app-a", "project-a", {"spec": {"replicas": 3}})
    current.spec.replicas = 0
    with pytest.raises(ApiException) as caught:
        apps.replace_namespaced_deployment("sample-app-a", "project-a", current)
    assert caught.value.status == 409
    assert "the object has been modified" in caught.value.body


def test_patch_carrying_a_stale_resource_version_is_409(apps):
    stale = apps.read_namespaced_deployment("sample-app-a", "project-a").metadata.resource_version
    apps.patch_namespaced_deployment("sample-app-a", "project-a", {"spec": {"replicas": 3}})
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment(
            "sample-app-a", "project-a", {"metadata": {"resourceVersion": stale}, "spec": {"replicas": 0}}
        )
    assert caught.value.status == 409


def test_patch_with_current_resource_version_succeeds(apps):
    current = apps.read_namespaced_deployment("sample-app-a", "project-a").metadata.resource_version
    patched = apps.patch_namespaced_deployment(
        "sample-app-a", "project-a", {"metadata": {"resourceVersion": current}, "spec": {"replicas": 1}}
    )
    assert patched.spec.replicas == 1 and patched.metadata.resource_version != current


def test_negative_replicas_are_422(apps):
    with pytest.raises(ApiException) as caught:
        apps.patch_namespaced_deployment("sample-app-a", "project-a", {"spec": {"replicas": -1}})
    assert caught.value.status == 422


def test_missing_deployment_is_404_status(apps):
    with pytest.raises(ApiException) as caught:
        apps.read_namespaced_deployment("nosuch", "project-a")
    assert caught.value.status == 404 and '"reason": "NotFound"' in caught.value.body


def test_statefulsets_list_patch_and_scale(apps, emu):
    assert [s.metadata.name for s in apps.list_stateful_set_for_all_namespaces().items] == ["model-cache"]
    apps.patch_namespaced_stateful_set_scale("model-cache", "project-b", {"spec": {"replicas": 0}})
    assert apps.read_namespaced_stateful_set("model-cache", "project-b").spec.replicas == 0


def test_ready_replicas_follow_spec_after_the_ready_delay(apps, emu):
    emu.set_delays(ready=30)
    apps.patch_namespaced_deployment("sample-app-a", "project-a", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("sample-app-a", "project-a").status.ready_replicas == 2
    emu.advance(emu.delays.ready)
    assert apps.read_namespaced_deployment("sample-app-a", "project-a").status.ready_replicas == 3


def test_gpu_workload_is_unready_while_its_pool_has_no_nodes_and_while_it_starts(apps, emu, arm_client):
    emu.set_delays(pool_operation=60, ready=30)
    gpu = emu.cluster("aks-demo")
    gpu.set_pool("gpu", count=0, enable_auto_scaling=False, min_count=None, max_count=None)
    assert apps.read_namespaced_deployment("triton-resnet50", "project-b").status.ready_replicas is None
    pool = arm_client.agent_pools.get("rg-aks-hours-demo", "aks-demo", "gpu")
    pool.count = 1
    arm_client.agent_pools.begin_create_or_update("rg-aks-hours-demo", "aks-demo", "gpu", pool, polling=False)
    emu.advance(emu.delays.pool_operation / 2)
    assert apps.read_namespaced_deployment("triton-resnet50", "project-b").status.ready_replicas is None  # starting
    emu.advance(emu.delays.pool_operation / 2)
    assert gpu.pool("gpu").nodes == 1
    assert (
        apps.read_namespaced_deployment("triton-resnet50", "project-b").status.ready_replicas is None
    )  # pods starting
    emu.advance(emu.delays.ready)
    assert apps.read_namespaced_deployment("triton-resnet50", "project-b").status.ready_replicas == 1


def test_stopping_a_pool_makes_its_workloads_unready_at_once(apps, emu):
    emu.cluster("aks-demo").set_pool("projecta", power_state="Stopped")
    assert apps.read_namespaced_deployment("sample-app-a", "project-a").status.ready_replicas is None


def test_requests_without_a_token_are_401(kube_client):
    with pytest.raises(ApiException) as caught:
        k8s.AppsV1Api(kube_client("aks-demo", token=None)).list_deployment_for_all_namespaces()
    assert caught.value.status == 401
