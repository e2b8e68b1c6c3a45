"""The emulator's ARM, driven by the real ContainerServiceClient: clusters, agent pools as LROs, validation."""

from __future__ import annotations

import base64
import time

import pytest
import requests
import yaml
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

pytestmark = pytest.mark.integration

RG = "rg-aks-hours-demo"


def test_lists_the_resource_groups_clusters(arm_client):
    names = sorted(c.name for c in arm_client.managed_clusters.list_by_resource_group(RG))
    assert names == ["aks-demo", "aks-private"]


def test_gets_a_cluster_with_its_pools_and_private_flag(arm_client):
    cluster = arm_client.managed_clusters.get(RG, "aks-private")
    assert cluster.api_server_access_profile.enable_private_cluster is True
    assert sorted(p.name for p in cluster.agent_pool_profiles) == ["batch", "system"]


def test_lists_and_gets_agent_pools_as_configured(arm_client):
    pools = {p.name: p for p in arm_client.agent_pools.list(RG, "aks-demo")}
    assert sorted(pools) == ["gpu", "projecta", "system"]
    gpu = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    assert (gpu.vm_size, gpu.mode, gpu.count) == ("Standard_NC4as_T4_v3", "User", 1)
    assert (gpu.enable_auto_scaling, gpu.min_count, gpu.max_count) == (True, 0, 2)
    assert (gpu.power_state.code, gpu.provisioning_state) == ("Running", "Succeeded")


def test_unknown_pool_is_not_found(arm_client):
    with pytest.raises(ResourceNotFoundError):
        arm_client.agent_pools.get(RG, "aks-demo", "nosuch")


def test_unknown_cluster_is_not_found_with_arms_error_code(arm_client):
    with pytest.raises(ResourceNotFoundError) as caught:
        arm_client.managed_clusters.get(RG, "aks-nowhere")
    assert caught.value.error.code == "ResourceNotFound"


def test_put_is_a_long_running_operation_polled_to_succeeded(arm_client, emu):
    emu.set_delays(pool_operation=60)  # in progress until the test says otherwise
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    pool.enable_auto_scaling, pool.min_count, pool.max_count, pool.count = False, None, None, 0
    poller = arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool)
    assert emu.cluster("aks-demo").pool("gpu").provisioning_state == "Updating"
    _wait_for(lambda: emu.calls("arm", "GET", "operations/{operation}") >= 1)  # the poller saw InProgress
    assert not poller.done()
    emu.finish_operations()
    result = poller.result(timeout=10)
    assert (result.provisioning_state, result.count, result.enable_auto_scaling) == ("Succeeded", 0, False)
    assert emu.cluster("aks-demo").pool("gpu").nodes == 0
    assert emu.calls("arm", "PUT", "*agentPools/{pool}") == 1
    assert emu.calls("arm", "GET", "operations/{operation}") >= 2  # InProgress, then Succeeded
    assert emu.calls("arm", "GET", "*agentPools/{pool}", status=200) == 2  # the read above and the final GET


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_put_without_polling_returns_updating_and_count_moves_when_done(arm_client, emu):
    emu.set_delays(pool_operation=60)
    pool = arm_client.agent_pools.get(RG, "aks-demo", "projecta")
    pool.count = 3
    result = arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "projecta", pool, polling=False).result()
    assert result.provisioning_state == "Updating"
    assert emu.cluster("aks-demo").pool("projecta").nodes == 2
    emu.finish_operations()
    after = arm_client.agent_pools.get(RG, "aks-demo", "projecta")
    assert (after.provisioning_state, after.count, emu.cluster("aks-demo").pool("projecta").nodes) == (
        "Succeeded",
        3,
        3,
    )


def test_operation_status_endpoint_reports_in_progress_then_succeeded(arm_client, emu):
    emu.set_delays(pool_operation=60)
    pool = arm_client.agent_pools.get(RG, "aks-demo", "projecta")
    response = requests.put(
        f"{emu.arm_url}{emu.cluster_id('aks-demo')}/agentPools/projecta?api-version=2026-08-01",
        json={
            "properties": {"count": 1, "vmSize": pool.vm_size, "enableAutoScaling": True, "minCount": 0, "maxCount": 3}
        },
        headers={"Authorization": "Bearer x"},
        verify=emu.ca_cert,
        timeout=5,
    )
    assert response.status_code == 200 and response.json()["properties"]["provisioningState"] == "Updating"
    status_url = response.headers["Azure-AsyncOperation"]
    status = requests.get(status_url, headers={"Authorization": "Bearer x"}, verify=emu.ca_cert, timeout=5).json()
    assert status["status"] == "InProgress"
    emu.finish_operations()
    status = requests.get(status_url, headers={"Authorization": "Bearer x"}, verify=emu.ca_cert, timeout=5).json()
    assert status["status"] == "Succeeded" and "endTime" in status


def test_second_put_while_updating_is_409_operation_not_allowed(arm_client, emu):
    emu.set_delays(pool_operation=60)
    pool = arm_client.agent_pools.get(RG, "aks-demo", "projecta")
    pool.count = 1
    arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "projecta", pool, polling=False)
    with pytest.raises(ResourceExistsError) as caught:
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "projecta", pool, polling=False)
    assert caught.value.status_code == 409
    assert caught.value.error.code == "OperationNotAllowed"
    assert "Another agentpool operation (projecta - Updating) is in progress" in caught.value.error.message


def test_count_outside_min_max_with_autoscaler_is_400(arm_client, emu):
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    pool.count = 5
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidParameter"
    assert "count was 5. It must be greater or equal to minCount:0 and less than or equal to maxCount:2" in str(
        caught.value
    )
    assert emu.cluster("aks-demo").pool("gpu").count == 1


def test_system_pool_cannot_go_to_zero(arm_client):
    pool = arm_client.agent_pools.get(RG, "aks-demo", "system")
    pool.enable_auto_scaling, pool.min_count, pool.max_count, pool.count = False, None, None, 0
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "system", pool)
    assert caught.value.status_code == 400 and "agentPoolProfile.count is invalid" in caught.value.error.message


def test_system_pool_cannot_be_stopped(arm_client):
    from azure.mgmt.containerservice.models import PowerState

    pool = arm_client.agent_pools.get(RG, "aks-demo", "system")
    pool.power_state = PowerState(code="Stopped")
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "system", pool)
    assert caught.value.status_code == 400 and "only User mode agent pools can be stopped" in caught.value.error.message


def test_user_pool_stops_and_starts_through_power_state(arm_client, emu):
    from azure.mgmt.containerservice.models import PowerState

    emu.set_delays(pool_operation=60)
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    pool.power_state = PowerState(code="Stopped")
    poller = arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool)
    assert emu.cluster("aks-demo").pool("gpu").provisioning_state == "Stopping"
    emu.finish_operations()
    stopped = poller.result(timeout=10)
    assert (stopped.power_state.code, stopped.provisioning_state) == ("Stopped", "Succeeded")
    assert emu.cluster("aks-demo").pool("gpu").nodes == 0
    stopped.power_state = PowerState(code="Running")
    poller = arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", stopped)
    assert emu.cluster("aks-demo").pool("gpu").provisioning_state == "Starting"
    emu.finish_operations()
    assert poller.result(timeout=10).power_state.code == "Running"
    assert emu.cluster("aks-demo").pool("gpu").nodes == 1


def test_tags_are_stored_on_the_pool(arm_client, emu):
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    pool.tags = {"aks-hours-original-count": "1"}
    arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool).result(timeout=10)
    assert arm_client.agent_pools.get(RG, "aks-demo", "gpu").tags == {"aks-hours-original-count": "1"}
    assert emu.cluster("aks-demo").pool("gpu").tags == {"aks-hours-original-count": "1"}


def test_stale_etag_is_412(arm_client):
    from azure.core import MatchConditions

    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.begin_create_or_update(
            RG, "aks-demo", "gpu", pool, etag="not-the-etag", match_condition=MatchConditions.IfNotModified
        )
    assert caught.value.status_code == 412


def test_put_of_a_new_pool_creates_it_with_201(arm_client, emu):
    from azure.mgmt.containerservice.models import AgentPool

    created = arm_client.agent_pools.begin_create_or_update(
        RG, "aks-demo", "spare", AgentPool(count=1, vm_size="Standard_D2s_v5", mode="User")
    ).result(timeout=10)
    assert created.provisioning_state == "Succeeded"
    assert emu.calls("arm", "PUT", "*agentPools/{pool}", status=201) == 1


def test_cluster_user_credential_is_a_kubeconfig_for_the_emulated_api(arm_client, emu):
    result = arm_client.managed_clusters.list_cluster_user_credentials(RG, "aks-demo")
    raw = result.kubeconfigs[0].value
    config = yaml.safe_load(raw if isinstance(raw, (bytes, str)) and not _is_base64(raw) else base64.b64decode(raw))
    assert config["clusters"][0]["cluster"]["server"] == emu.kube_url("aks-demo")
    assert config["users"][0]["user"]["exec"]["command"] == "kubelogin"  # an Entra cluster: no credentials inside


def _is_base64(raw) -> bool:
    try:
        base64.b64decode(raw, validate=True)
        return True
    except ValueError:
        return False


def test_scaling_clients_reach_the_cluster_through_arm_credentials(emu):
    from kubernetes import client as k8s

    from scaling.clusters.clients import Clients
    from scaling.names import ClusterId
    from scaling.settings import Settings

    settings = Settings(arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, local_credential=True)
    clients = Clients(settings)
    cluster = ClusterId(emu.subscription, RG, "aks-demo")
    names = [
        d.metadata.name for d in k8s.AppsV1Api(clients.kube(cluster)).list_namespaced_deployment("project-a").items
    ]
    assert names == ["sample-app-a", "sample-app-a2"]


def test_requests_without_a_bearer_token_are_401(emu):
    response = requests.get(
        f"{emu.arm_url}{emu.cluster_id('aks-demo')}?api-version=2026-08-01", verify=emu.ca_cert, timeout=5
    )
    assert response.status_code == 401 and response.json()["error"]["code"] == "AuthenticationFailed"


def test_requests_without_api_version_are_400(emu):
    response = requests.get(
        f"{emu.arm_url}{emu.cluster_id('aks-demo')}",
        headers={"Authorization": "Bearer x"},
        verify=emu.ca_cert,
        timeout=5,
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "MissingApiVersionParameter"


def test_a_pool_set_busy_by_a_test_refuses_puts(arm_client, emu):
    emu.cluster("aks-demo").set_pool("gpu", provisioning_state="Upgrading")
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    with pytest.raises(ResourceExistsError, match=r"\(gpu - Upgrading\)"):
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool)


def test_a_failed_pool_operation_raises_from_the_poller_and_leaves_the_nodes(arm_client, emu):
    emu.fail_pool_operation(cluster="aks-demo", pool="gpu", code="AllocationFailed")
    pool = arm_client.agent_pools.get(RG, "aks-demo", "gpu")
    pool.count = 2
    with pytest.raises(HttpResponseError) as caught:
        arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool).result(timeout=10)
    assert "AllocationFailed" in str(caught.value)
    after = emu.cluster("aks-demo").pool("gpu")
    assert (after.provisioning_state, after.nodes) == ("Failed", 1)
    pool.count = 1  # a failed pool takes a new PUT
    assert arm_client.agent_pools.begin_create_or_update(RG, "aks-demo", "gpu", pool).result(timeout=10).count == 1
