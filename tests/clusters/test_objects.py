"""Raw objects into observed values: what the planner sees of Deployments, HPAs, ScaledObjects, CronJobs."""

from __future__ import annotations

import copy

import pytest

from scaling.clusters.objects import ObjectError, cronjob, hpa, node_pool, observed_cluster, scaled_object, workload
from scaling.model import WorkloadKind, WorkloadRef
from scaling.names import ClusterId

CLUSTER = ClusterId("00000000-0000-0000-0000-000000000001", "rg", "aks1")
WEB = WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "web")


def deployment(name="web", namespace="project-a", replicas=3, annotations=None, pod_spec=None) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "42", "annotations": annotations or {}},
        "spec": {"replicas": replicas, "template": {"spec": pod_spec or {"containers": [{"name": "c"}]}}},
        "status": {"readyReplicas": replicas},
    }


def hpa_raw(annotations=None, target_kind="Deployment", min_replicas=2) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "project-a", "resourceVersion": "5", "annotations": annotations or {}},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target_kind, "name": "web"},
            "minReplicas": min_replicas,
            "maxReplicas": 10,
        },
    }


def scaled_object_raw(annotations=None, ref=None) -> dict:
    return {
        "metadata": {
            "name": "consumer",
            "namespace": "project-a",
            "resourceVersion": "9",
            "annotations": annotations or {},
        },
        "spec": {"scaleTargetRef": ref if ref is not None else {"name": "web"}},
    }


def cronjob_raw(suspend=None, annotations=None, active=None) -> dict:
    spec = {"schedule": "0 2 * * *", "jobTemplate": {"spec": {}}}
    if suspend is not None:
        spec["suspend"] = suspend
    return {
        "metadata": {
            "name": "reindex",
            "namespace": "project-a",
            "resourceVersion": "11",
            "annotations": annotations or {},
        },
        "spec": spec,
        "status": {"active": active} if active is not None else {},
    }


# --- workloads -------------------------------------------------------------------------------------


def test_a_plain_deployment_is_seen_with_its_size_and_version():
    seen = workload(deployment(), WorkloadKind.DEPLOYMENT)
    assert (seen.ref, seen.replicas, seen.ready_replicas, seen.resource_version) == (WEB, 3, 3, "42")
    assert seen.original_replicas is None and not seen.excluded and seen.annotation_errors == ()


def test_missing_replicas_means_the_api_default_of_one():
    raw = deployment()
    del raw["spec"]["replicas"], raw["status"]["readyReplicas"]
    seen = workload(raw, WorkloadKind.DEPLOYMENT)
    assert (seen.replicas, seen.ready_replicas) == (1, 0)


def test_the_remembered_original_size_is_read_from_the_annotation():
    seen = workload(deployment(replicas=0, annotations={"aks-hours/original-replicas": "3"}), WorkloadKind.DEPLOYMENT)
    assert seen.original_replicas == 3


def test_user_annotations_are_read():
    raw = deployment(
        annotations={
            "aks-hours/exclude": "True",
            "aks-hours/uptime": "Mon-Fri 07:00-19:00 Europe/Berlin",
            "aks-hours/min-replicas": "1",
        }
    )
    seen = workload(raw, WorkloadKind.DEPLOYMENT)
    assert seen.excluded and seen.own_uptime == "Mon-Fri 07:00-19:00 Europe/Berlin" and seen.min_replicas == 1
    assert seen.annotation_errors == ()


@pytest.mark.parametrize(
    "key, value, message",
    [
        pytest.param(
            "aks-hours/original-replicas",
            "three",
            "original-replicas: 'three' is not a whole number",
            id="original-word",
        ),
        pytest.param("aks-hours/original-replicas", "-1", "not a whole number", id="original-negative"),
        pytest.param("aks-hours/original-replicas", "99999", "from 0 to 10000", id="original-huge"),
        pytest.param("aks-hours/min-replicas", "1.5", "min-replicas: '1.5'", id="min-fraction"),
        pytest.param("aks-hours/uptime", "Mon-Fry 07:00-19:00", "aks-hours/uptime:", id="uptime-bad-day"),
        pytest.param("aks-hours/exlude", "true", "aks-hours/exlude: unknown annotation", id="unknown-key"),
    ],
)
def test_a_wrong_annotation_is_reported_not_fatal(key, value, message):
    seen = workload(deployment(annotations={key: value}), WorkloadKind.DEPLOYMENT)
    assert len(seen.annotation_errors) == 1 and message in seen.annotation_errors[0]
    assert seen.replicas == 3 and seen.original_replicas is None and seen.own_uptime is None


def test_an_unreadable_exclude_is_read_as_excluded_and_reported():
    seen = workload(deployment(annotations={"aks-hours/exclude": "yes please"}), WorkloadKind.DEPLOYMENT)
    assert seen.excluded
    assert "treated as excluded" in seen.annotation_errors[0]


def test_other_tools_annotations_are_ignored():
    seen = workload(
        deployment(annotations={"downscaler/exclude": "true", "deployment.kubernetes.io/revision": "4"}),
        WorkloadKind.DEPLOYMENT,
    )
    assert seen.annotation_errors == () and not seen.excluded


@pytest.mark.parametrize(
    "mutate, message",
    [
        pytest.param(lambda r: r.pop("metadata"), "without metadata", id="no-metadata"),
        pytest.param(lambda r: r["metadata"].update(name="Web_1"), "not a DNS-1123", id="bad-name"),
        pytest.param(lambda r: r["metadata"].pop("resourceVersion"), "no resourceVersion", id="no-version"),
        pytest.param(lambda r: r["spec"].update(replicas="3"), "spec.replicas is '3'", id="replicas-text"),
        pytest.param(lambda r: r["metadata"].update(annotations={"a": 1}), "not text", id="annotation-number"),
    ],
)
def test_an_object_no_api_server_would_return_is_an_error(mutate, message):
    raw = deployment()
    mutate(raw)
    with pytest.raises(ObjectError, match=message):
        workload(raw, WorkloadKind.DEPLOYMENT)


@pytest.mark.parametrize(
    "pod_spec, pool",
    [
        pytest.param({"nodeSelector": {"agentpool": "gpu"}}, "gpu", id="selector"),
        pytest.param({"nodeSelector": {"kubernetes.azure.com/agentpool": "gpu"}}, "gpu", id="selector-azure-label"),
        pytest.param({"nodeSelector": {"agentpool": "Not_A_Pool"}}, None, id="selector-invalid-name"),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["gpu"]}]}
                            ]
                        }
                    }
                }
            },
            "gpu",
            id="affinity-one-value",
        ),
        pytest.param(
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "agentpool", "operator": "In", "values": ["a", "b"]}]}
                            ]
                        }
                    }
                }
            },
            None,
            id="affinity-two-pools",
        ),
        pytest.param({"containers": []}, None, id="unpinned"),
    ],
)
def test_the_node_pool_a_workload_is_pinned_to(pod_spec, pool):
    assert node_pool(deployment(pod_spec=pod_spec)) == pool


# --- HPAs, ScaledObjects, CronJobs -----------------------------------------------------------------


def test_an_hpa_is_seen_with_its_target_and_remembered_bounds():
    seen, errors = hpa(hpa_raw({"aks-hours/original-min-replicas": "2", "aks-hours/original-max-replicas": "10"}))
    assert seen.target == WEB and (seen.min_replicas, seen.max_replicas) == (2, 10)
    assert (seen.original_min, seen.original_max) == (2, 10) and errors == []


def test_an_hpa_targeting_something_we_do_not_scale_is_left_out():
    assert hpa(hpa_raw(target_kind="Rollout")) == (None, [])


def test_a_wrong_hpa_bookkeeping_annotation_is_reported():
    seen, errors = hpa(hpa_raw({"aks-hours/original-min-replicas": "x"}))
    assert seen.original_min is None and "hpa/project-a/web: aks-hours/original-min-replicas: 'x'" in errors[0]


def test_a_scaled_object_defaults_to_a_deployment_target_and_reports_its_pause():
    seen, errors = scaled_object(
        scaled_object_raw({"autoscaling.keda.sh/paused-replicas": "0", "aks-hours/paused": "true"})
    )
    assert seen.target == WEB and seen.paused_replicas == "0" and seen.paused_by_app and errors == []


def test_a_pause_set_by_someone_else_is_not_ours():
    seen, _ = scaled_object(scaled_object_raw({"autoscaling.keda.sh/paused-replicas": "0"}))
    assert seen.paused_replicas == "0" and not seen.paused_by_app


def test_an_unreadable_paused_by_app_is_not_taken_as_ours():
    seen, errors = scaled_object(scaled_object_raw({"aks-hours/paused": "maybe"}))
    assert not seen.paused_by_app and "not lifted" in errors[0]


def test_a_statefulset_target_is_recognised():
    seen, _ = scaled_object(scaled_object_raw(ref={"kind": "StatefulSet", "name": "db"}))
    assert seen.target == WorkloadRef(WorkloadKind.STATEFULSET, "project-a", "db")


@pytest.mark.parametrize("suspend, expected", [(None, False), (False, False), (True, True)])
def test_a_cronjob_suspend_defaults_to_false(suspend, expected):
    seen, _ = cronjob(cronjob_raw(suspend=suspend))
    assert seen.suspend is expected


def test_a_cronjob_reports_running_jobs_and_the_remembered_suspend():
    seen, errors = cronjob(cronjob_raw(True, {"aks-hours/original-suspend": "false"}, active=[{"name": "reindex-1"}]))
    assert seen.original_suspend is False and seen.active_jobs == 1 and errors == []


def test_a_cronjob_with_a_wrong_remembered_suspend_is_reported():
    seen, errors = cronjob(cronjob_raw(True, {"aks-hours/original-suspend": "no"}))
    assert seen.original_suspend is None and "original-suspend" in errors[0]
    assert seen.annotation_errors == tuple(errors)


# --- one cluster ------------------------------------------------------------------------------------


def test_a_cluster_view_keeps_only_the_requested_namespaces():
    lists = {
        "deployments": [deployment(), deployment(namespace="someone-else")],
        "statefulsets": [dict(deployment(name="db"), kind="StatefulSet")],
        "horizontalpodautoscalers": [hpa_raw()],
        "cronjobs": [cronjob_raw()],
        "scaledobjects": [],
    }
    seen = observed_cluster(CLUSTER, lists, namespaces=["project-a"], keda_installed=True)
    assert [str(w.ref) for w in seen.workloads] == ["deployment/project-a/web", "statefulset/project-a/db"]
    assert len(seen.hpas) == 1 and len(seen.cronjobs) == 1 and seen.keda_installed and seen.error is None


def test_a_wrong_autoscaler_annotation_is_reported_on_the_workload_it_targets():
    lists = {
        "deployments": [deployment()],
        "horizontalpodautoscalers": [hpa_raw({"aks-hours/original-max-replicas": "lots"})],
        "scaledobjects": [scaled_object_raw({"aks-hours/paused": "1"})],
    }
    seen = observed_cluster(CLUSTER, lists, namespaces=["project-a"], keda_installed=True)
    (web,) = seen.workloads
    assert len(web.annotation_errors) == 2
    assert (
        "hpa/project-a/web" in web.annotation_errors[0]
        and "scaledobject/project-a/consumer" in web.annotation_errors[1]
    )


def test_a_cluster_view_does_not_change_the_raw_lists():
    lists = {"deployments": [deployment(annotations={"aks-hours/original-replicas": "2"})]}
    before = copy.deepcopy(lists)
    observed_cluster(CLUSTER, lists, namespaces=["project-a"], keda_installed=False)
    assert lists == before


def job_raw(name: str, *, owner: str | None = "reindex", active: int = 1) -> dict:
    metadata = {"name": name, "namespace": "project-a", "resourceVersion": "1"}
    if owner:
        metadata["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "CronJob", "name": owner, "controller": True}]
    return {"metadata": metadata, "status": {"active": active} if active else {"succeeded": 1}}


def test_running_jobs_of_a_cronjob_are_counted_from_the_jobs_list():
    lists = {
        "cronjobs": [cronjob_raw(active=[{"name": "reindex-1"}])],
        "jobs": [
            job_raw("reindex-1"),  # also in status.active: counted once
            job_raw("reindex-2"),
            job_raw("reindex-0", active=0),  # finished
            job_raw("adhoc", owner=None),  # not the CronJob's
        ],
    }
    (seen,) = observed_cluster(CLUSTER, lists, namespaces=["project-a"], keda_installed=False).cronjobs
    assert seen.active_jobs == 2
