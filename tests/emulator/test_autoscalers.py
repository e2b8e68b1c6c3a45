"""HPAs, CronJobs, Jobs and KEDA ScaledObjects in the emulator, through the real `kubernetes` client."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

pytestmark = pytest.mark.integration

KEDA = ("keda.sh", "v1alpha1")


def test_lists_hpas_and_patches_min_replicas(kube_client):
    hpas = k8s.AutoscalingV2Api(kube_client("aks-demo"))
    [hpa] = hpas.list_horizontal_pod_autoscaler_for_all_namespaces().items
    assert (hpa.metadata.name, hpa.spec.min_replicas, hpa.spec.max_replicas) == ("sample-app-a2", 1, 3)
    assert hpa.spec.scale_target_ref.name == "sample-app-a2"
    patched = hpas.patch_namespaced_horizontal_pod_autoscaler(
        "sample-app-a2", "project-a", {"spec": {"maxReplicas": 1}}
    )
    assert patched.spec.max_replicas == 1


def test_hpa_pulls_its_target_back_into_range(kube_client, emu):
    apps = k8s.AppsV1Api(kube_client("aks-demo"))
    apps.patch_namespaced_deployment_scale("sample-app-a2", "project-a", {"spec": {"replicas": 5}})
    emu.advance(emu.delays.hpa_sync)
    assert apps.read_namespaced_deployment("sample-app-a2", "project-a").spec.replicas == 3


def test_hpa_leaves_a_target_at_zero_alone(kube_client, emu):
    apps = k8s.AppsV1Api(kube_client("aks-demo"))
    apps.patch_namespaced_deployment_scale("sample-app-a2", "project-a", {"spec": {"replicas": 0}})
    emu.advance(emu.delays.hpa_sync * 2)
    assert apps.read_namespaced_deployment("sample-app-a2", "project-a").spec.replicas == 0
    hpa = k8s.AutoscalingV2Api(kube_client("aks-demo")).read_namespaced_horizontal_pod_autoscaler(
        "sample-app-a2", "project-a"
    )
    assert hpa.status.conditions[0].reason == "ScalingDisabled"


def test_cronjob_suspend_is_patched_and_kept(kube_client):
    batch = k8s.BatchV1Api(kube_client("aks-demo"))
    [cron] = batch.list_cron_job_for_all_namespaces().items
    assert (cron.metadata.name, cron.spec.schedule, cron.spec.suspend) == ("nightly-reindex", "0 2 * * *", False)
    batch.patch_namespaced_cron_job("nightly-reindex", "project-b", {"spec": {"suspend": True}})
    assert batch.read_namespaced_cron_job("nightly-reindex", "project-b").spec.suspend is True


def test_jobs_are_listed_and_tests_can_add_them(kube_client, emu):
    emu.cluster("aks-demo").create(
        "jobs",
        {
            "metadata": {
                "name": "nightly-reindex-1",
                "namespace": "project-b",
                "ownerReferences": [
                    {"apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly-reindex", "uid": "u"}
                ],
            },
            "spec": {"template": {"spec": {"containers": []}}},
            "status": {"active": 1},
        },
    )
    [job] = k8s.BatchV1Api(kube_client("aks-demo")).list_namespaced_job("project-b").items
    assert (job.metadata.name, job.status.active) == ("nightly-reindex-1", 1)


def test_scaled_objects_are_served_on_a_keda_cluster(kube_client):
    custom = k8s.CustomObjectsApi(kube_client("aks-private"))
    listing = custom.list_cluster_custom_object(*KEDA, "scaledobjects")
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in listing["items"]] == [
        ("nightly-batch", "batch-worker")
    ]


def test_scaled_objects_are_404_without_the_keda_crd(kube_client):
    custom = k8s.CustomObjectsApi(kube_client("aks-demo"))
    with pytest.raises(ApiException) as caught:
        custom.list_cluster_custom_object(*KEDA, "scaledobjects")
    assert caught.value.status == 404


def test_keda_paused_replicas_annotation_holds_the_target(kube_client, emu):
    custom = k8s.CustomObjectsApi(kube_client("aks-private"))
    custom.patch_namespaced_custom_object(
        *KEDA,
        "nightly-batch",
        "scaledobjects",
        "batch-worker",
        {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0"}}},
    )
    emu.advance(emu.delays.hpa_sync)
    assert emu.cluster("aks-private").deployment("nightly-batch", "batch-worker")["spec"]["replicas"] == 0


def test_unpaused_keda_scales_a_zeroed_target_back_up(kube_client, emu):
    apps = k8s.AppsV1Api(kube_client("aks-private"))
    apps.patch_namespaced_deployment_scale("batch-worker", "nightly-batch", {"spec": {"replicas": 0}})
    emu.advance(emu.delays.hpa_sync)
    assert apps.read_namespaced_deployment("batch-worker", "nightly-batch").spec.replicas == 1


def test_discovery_lists_keda_only_where_configured(kube_client):
    demo = {g.name for g in k8s.ApisApi(kube_client("aks-demo")).get_api_versions().groups}
    private = {g.name for g in k8s.ApisApi(kube_client("aks-private")).get_api_versions().groups}
    assert demo == {"apps", "autoscaling", "batch"}
    assert private == demo | {"keda.sh"}
