"""Injected faults, seen by the real clients as they would see them from Azure; and the call counters."""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from emulator.faults import Fault, FaultError, Faults

RG = "rg-aks-hours-demo"
POOL = "managedClusters/{cluster}/agentPools/{pool}"


@pytest.mark.integration
def test_429_with_retry_after_is_retried_by_the_sdk_after_waiting(arm_client, emu):
    emu.throttle(service="arm", method="GET", route=POOL, retry_after=1, times=1)
    started = time.monotonic()
    assert arm_client.agent_pools.get(RG, "aks-demo", "gpu").name == "gpu"
    assert time.monotonic() - started >= 1.0  # the Retry-After wait, not the fixture's 0.01 s backoff
    assert emu.calls("arm", "GET", POOL, status=429) == 1
    assert emu.calls("arm", "GET", POOL, status=200) == 1


@pytest.mark.integration
def test_persistent_429_ends_as_throttled_error_after_the_sdks_retries(arm_client, emu):
    emu.throttle(service="arm", route=POOL, retry_after=0.01)
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    assert (caught.value.status_code, caught.value.error.code) == (429, "Throttled")
    assert emu.calls("arm", "GET", POOL) == 4  # azure-core: retry_status=3


@pytest.mark.integration
def test_a_put_throttled_once_is_retried_and_starts_one_operation(arm_client, emu):
    pool = arm_client.agent_pools.get(RG, "aks-demo", "projecta")
    pool.count = 1
    emu.throttle(service="arm", method="PUT", route=POOL, retry_after=0.01, times=1)
    assert arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "projecta", pool).result(timeout=10).count == 1
    assert emu.calls("arm", "PUT", POOL) == 2


@pytest.mark.integration
def test_a_single_503_is_retried(arm_client, emu):
    emu.fail(503, service="arm", method="GET", route=POOL, times=1)
    assert arm_client.agent_pools.get(RG, "aks-demo", "gpu").name == "gpu"
    assert emu.calls("arm", "GET", POOL) == 2


@pytest.mark.integration
def test_persistent_500_surfaces_as_http_response_error(arm_client, emu):
    emu.fail(500, service="arm", route="managedClusters/{cluster}")
    with pytest.raises(HttpResponseError) as caught:
        arm_client.managed_clusters.get(RG, "aks-demo")
    assert caught.value.status_code == 500 and caught.value.error.code == "InternalServerError"


@pytest.mark.integration
def test_a_dropped_connection_is_retried(arm_client, emu):
    emu.drop(service="arm", route=POOL, times=1)
    assert arm_client.agent_pools.get(RG, "aks-demo", "gpu").name == "gpu"
    assert emu.calls("arm", "GET", POOL, status=0) == 1


@pytest.mark.integration
def test_always_dropped_connections_surface_as_service_response_error(arm_client, emu):
    emu.drop(service="arm", route=POOL)
    with pytest.raises(ServiceResponseError):
        arm_client.agent_pools.get(RG, "aks-demo", "gpu", retry_total=1)


@pytest.mark.integration
def test_a_hung_request_times_out_on_the_client(arm_client, emu):
    emu.hang(1.5, service="arm", route=POOL, times=1)
    started = time.monotonic()
    with pytest.raises(ServiceResponseError):
        arm_client.agent_pools.get(RG, "aks-demo", "gpu", read_timeout=0.3, retry_total=0)
    assert time.monotonic() - started < 1.4


@pytest.mark.integration
def test_latency_is_added_to_matching_calls_only(arm_client, emu):
    emu.slow(0.5, service="arm", route=POOL)
    started = time.monotonic()
    arm_client.agent_pools.list(RG, "aks-demo").next()
    listed = time.monotonic() - started
    started = time.monotonic()
    arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    got = time.monotonic() - started
    assert got >= 0.5 and listed < got


@pytest.mark.integration
def test_faults_can_target_one_cluster(kube_client, emu):
    emu.fail(503, service="kube", cluster="aks-private")
    assert k8s.AppsV1Api(kube_client("aks-demo")).list_deployment_for_all_namespaces().items
    with pytest.raises(ApiException) as caught:
        k8s.AppsV1Api(kube_client("aks-private")).list_deployment_for_all_namespaces()
    assert caught.value.status == 503


@pytest.mark.integration
def test_kubernetes_429_carries_retry_after_and_a_status_body(kube_client, emu):
    emu.throttle(service="kube", retry_after=3, route="/apis/apps/v1/deployments")
    with pytest.raises(ApiException) as caught:
        k8s.AppsV1Api(kube_client("aks-demo")).list_deployment_for_all_namespaces()
    assert caught.value.status == 429 and caught.value.headers["Retry-After"] == "3"
    assert '"reason": "TooManyRequests"' in caught.value.body


@pytest.mark.integration
def test_kubectl_retries_a_throttled_get_as_client_go_does(kubectl, emu):
    emu.throttle(service="kube", method="GET", route="*/deployments/{name}", retry_after=0, times=2)
    assert (
        kubectl("get", "deployment", "sample-app-a", "-n", "project-a", "-o", "name").stdout.strip()
        == "deployment.apps/sample-app-a"
    )
    assert emu.calls("kube", "GET", "*/deployments/{name}") == 3


@pytest.mark.integration
def test_counters_are_keyed_by_route_template(arm_client, emu):
    arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    arm_client.agent_pools.get(RG, "aks-demo", "system")
    arm_client.agent_pools.get(RG, "aks-private", "batch")
    assert emu.counters()[("arm", "GET", POOL)] == 3
    assert emu.calls("arm", cluster="aks-private") == 1
    assert emu.calls(route="*/agentPools/gpu") == 1  # globs also match concrete paths


def test_times_limits_how_often_a_fault_applies():
    faults = Faults()
    faults.add(Fault("status", service="arm", status=429, times=2))
    taken = [faults.take("arm", "GET", POOL, "aks-demo")[1] for _ in range(3)]
    assert [f is not None for f in taken] == [True, True, False]


def test_latencies_add_up_and_the_first_other_fault_wins():
    faults = Faults()
    faults.add(Fault("latency", seconds=0.1))
    faults.add(Fault("latency", seconds=0.2, service="kube"))
    faults.add(Fault("status", status=503, route="/apis/*"))
    faults.add(Fault("drop"))
    delay, fault = faults.take("kube", "GET", "/apis/apps/v1/deployments", "aks-demo")
    assert delay == pytest.approx(0.3) and fault.status == 503


def test_rules_match_method_route_and_cluster_globs():
    rule = Fault("drop", service="kube", method="patch", route="*/scale", cluster="aks-*")
    assert rule.matches("kube", "PATCH", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "aks-demo")
    assert not rule.matches("kube", "GET", "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale", "aks-demo")
    assert not rule.matches("arm", "PATCH", "x/scale", "aks-demo")


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(kind="explode"), "fault kind 'explode' is not valid"),
        (dict(kind="status", status=200), "must be an HTTP error status"),
        (dict(kind="drop", service="dns"), "fault service 'dns'"),
        (dict(kind="garbage", service="arm"), "not valid for service 'arm'"),
        (dict(kind="drop", times=0), "times must be at least 1"),
    ],
)
def test_nonsense_fault_rules_are_rejected_with_the_field_named(bad, message):
    with pytest.raises(FaultError, match=message):
        Fault(**bad)


@pytest.mark.integration
def test_whole_second_retry_after_is_sent_as_arm_sends_it(emu):
    import requests

    emu.throttle(service="arm", retry_after=2)
    response = requests.get(
        f"{emu.arm_url}{emu.cluster_id('aks-demo')}?api-version=2026-08-01",
        headers={"Authorization": "Bearer x"},
        verify=emu.ca_cert,
        timeout=5,
    )
    assert response.status_code == 429 and response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "Throttled"
