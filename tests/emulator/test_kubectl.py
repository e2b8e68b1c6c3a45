"""The real kubectl against the emulator through its kubeconfig (contexts named after the clusters)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration


def test_get_lists_deployments_of_every_namespace(kubectl):
    out = kubectl("get", "deployments", "-A", "-o", "json").stdout
    names = [(d["metadata"]["namespace"], d["metadata"]["name"]) for d in json.loads(out)["items"]]
    assert ("project-b", "triton-resnet50") in names and len(names) == 4


def test_get_filters_by_label_in_one_namespace(kubectl):
    out = kubectl("get", "deploy", "-n", "project-a", "-l", "app=sample-app-a2", "-o", "name").stdout
    assert out.split() == ["deployment.apps/sample-app-a2"]


def test_get_prints_a_readable_table(kubectl):
    out = kubectl("get", "deploy", "-n", "project-a").stdout
    assert out.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert out.splitlines()[1].split()[:2] == ["sample-app-a", "2/2"]
    wide = kubectl("get", "deploy", "-A").stdout
    assert wide.splitlines()[0].split()[:3] == ["NAMESPACE", "NAME", "READY"]


def test_scale_changes_replicas(kubectl, emu):
    kubectl("scale", "deployment/sample-app-a", "-n", "project-a", "--replicas=0")
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 0
    assert emu.calls("kube", "PATCH", "*/deployments/{name}/scale") == 1


def test_replace_of_a_stale_copy_is_a_conflict(kubectl, tmp_path):
    stale = tmp_path / "stale.json"
    stale.write_text(kubectl("get", "deployment", "sample-app-a", "-n", "project-a", "-o", "json").stdout)
    kubectl("scale", "deployment/sample-app-a", "-n", "project-a", "--replicas=1")
    result = kubectl("replace", "-f", str(stale), check=False)
    assert result.returncode != 0 and "the object has been modified" in result.stderr


def test_merge_patch_sets_replicas_and_annotation(kubectl, emu):
    kubectl(
        "patch",
        "deployments.apps",
        "triton-resnet50",
        "-n",
        "project-b",
        "--type",
        "merge",
        "-p",
        '{"metadata":{"annotations":{"aks-hours/original-replicas":"1"}},"spec":{"replicas":0}}',
    )
    stored = emu.cluster("aks-demo").deployment("project-b", "triton-resnet50")
    assert stored["spec"]["replicas"] == 0
    assert stored["metadata"]["annotations"] == {"aks-hours/original-replicas": "1"}


def test_json_patch_replaces_replicas(kubectl, emu):
    kubectl(
        "patch",
        "statefulset",
        "model-cache",
        "-n",
        "project-b",
        "--type",
        "json",
        "-p",
        '[{"op":"replace","path":"/spec/replicas","value":3}]',
    )
    assert emu.cluster("aks-demo").statefulset("project-b", "model-cache")["spec"]["replicas"] == 3


def test_annotate_adds_and_removes_an_annotation(kubectl, emu):
    kubectl("annotate", "deployment", "sample-app-a", "-n", "project-a", "aks-hours/exclude=true")
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["metadata"]["annotations"] == {
        "aks-hours/exclude": "true"
    }
    kubectl("annotate", "deployment", "sample-app-a", "-n", "project-a", "aks-hours/exclude-")
    assert "annotations" not in emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["metadata"]


def test_patch_and_annotate_need_no_openapi_document(kubectl, emu):
    kubectl("patch", "deployment", "sample-app-a", "-n", "project-a", "-p", '{"spec":{"replicas":1}}')  # strategic
    kubectl("annotate", "deployment", "sample-app-a", "-n", "project-a", "note=x")
    assert emu.calls("kube", route="/openapi/*") == 0
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 1


def test_apply_validates_on_the_server_through_the_minimal_openapi_index(kubectl, emu, tmp_path):
    manifest = tmp_path / "job.yaml"
    manifest.write_text(
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once, namespace: project-b}\n"
        "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: busybox}]}}}\n"
    )
    kubectl("apply", "-f", str(manifest))
    assert (
        emu.cluster("aks-demo").get("jobs", "project-b", "once")["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    )
    assert emu.calls("kube", "GET", "/openapi/v3*", status=200) >= 2  # the index, then batch/v1
    kubectl("delete", "job", "once", "-n", "project-b")
    assert [j["metadata"]["name"] for j in emu.cluster("aks-demo").objects("jobs")] == []


def test_scaledobjects_are_unknown_on_a_cluster_without_keda(kubectl):
    result = kubectl("get", "scaledobjects.keda.sh", "-A", check=False)
    assert result.returncode != 0 and "doesn't have a resource type" in result.stderr


def test_scaledobjects_are_listed_on_the_keda_cluster(kubectl):
    out = kubectl("get", "scaledobjects.keda.sh", "-A", "-o", "name", cluster="aks-private").stdout
    assert out.split() == ["scaledobject.keda.sh/batch-worker"]


def test_hpas_and_cronjobs_are_listed(kubectl):
    assert kubectl("get", "hpa", "-A", "-o", "name").stdout.split() == [
        "horizontalpodautoscaler.autoscaling/sample-app-a2"
    ]
    assert kubectl("get", "cronjobs.batch", "-n", "project-b", "-o", "name").stdout.split() == [
        "cronjob.batch/nightly-reindex"
    ]


def test_create_namespace_makes_one_that_deployments_can_be_created_in(kubectl, tmp_path):
    kubectl("create", "namespace", "scratch")
    assert "scratch" in kubectl("get", "namespaces", "-o", "name").stdout.split("namespace/")[-1]
    manifest = tmp_path / "web.json"
    manifest.write_text(
        json.dumps(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": "scratch"},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                    },
                },
            }
        )
    )
    kubectl("create", "-f", str(manifest))
    assert kubectl("get", "deploy", "-n", "scratch", "-o", "name").stdout.split() == ["deployment.apps/web"]
    again = kubectl("create", "namespace", "scratch", check=False)
    assert again.returncode != 0 and "AlreadyExists" in again.stderr
