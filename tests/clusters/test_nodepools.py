"""Agent pools: what is observed of them and the PUT body that changes one (pure), then the real SDK
against the emulator (integration)."""

from __future__ import annotations

import json

import pytest
from azure.mgmt.containerservice._utils.model_base import SdkJSONEncoder
from azure.mgmt.containerservice.models import AgentPool

from scaling.clusters.nodepools import observed_pool, pool_body
from scaling.names import ClusterId
from scaling.plan.actions import Direction, PoolChange, Why
from scaling.plan.observed import PoolSize

CLUSTER = ClusterId("00000000-0000-0000-0000-000000000001", "rg", "aks1")


def arm_pool(**properties) -> dict:
    """An agent pool as ARM's GET returns it, read-only fields included."""
    base = {
        "count": 2,
        "vmSize": "Standard_NC4as_T4_v3",
        "mode": "User",
        "enableAutoScaling": True,
        "minCount": 1,
        "maxCount": 3,
        "powerState": {"code": "Running"},
        "provisioningState": "Succeeded",
        "eTag": "etag-1",
        "currentOrchestratorVersion": "1.32.4",
        "nodeImageVersion": "AKSUbuntu-2204gen2containerd-2026.08.01",
        "orchestratorVersion": "1.32",
        "nodeTaints": ["sku=gpu:NoSchedule"],
        "nodeLabels": {"workload": "triton"},
        "scaleSetPriority": "Regular",
        "tags": {"team": "ml"},
        "type": "VirtualMachineScaleSets",
    }
    base.update(properties)
    return {
        "id": f"{CLUSTER.resource_id}/agentPools/gpu",
        "name": "gpu",
        "type": "Microsoft.ContainerService/managedClusters/agentPools",
        "properties": base,
    }


def wire(model: AgentPool) -> dict:
    """The JSON the SDK sends for a PUT of `model` (read-only fields dropped)."""
    return json.loads(json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True))


def change(after: PoolSize, tags: dict[str, str], before: PoolSize | None = None) -> PoolChange:
    return PoolChange(CLUSTER, "gpu", before or PoolSize(2, True, 1, 3), after, tags, Direction.DOWN, Why("project-b"))


# --- observe --------------------------------------------------------------------------------------


def test_a_pool_is_seen_with_its_size_state_and_tags():
    seen = observed_pool(arm_pool())
    assert (seen.name, seen.mode, seen.vm_size, seen.provisioning_state) == (
        "gpu",
        "User",
        "Standard_NC4as_T4_v3",
        "Succeeded",
    )
    assert seen.size == PoolSize(2, True, 1, 3, "Running")
    assert seen.tags == {"team": "ml"} and seen.original is None and seen.tag_errors == () and not seen.busy


def test_a_pool_without_power_state_is_running():
    raw = arm_pool()
    del raw["properties"]["powerState"]
    assert observed_pool(raw).size.power_state == "Running"


def test_the_remembered_size_is_read_from_the_tags():
    tags = {
        "aks-hours-original-count": "2",
        "aks-hours-original-autoscaling": "true",
        "aks-hours-original-min": "1",
        "aks-hours-original-max": "3",
        "aks-hours-original-power": "Running",
    }
    seen = observed_pool(arm_pool(count=0, enableAutoScaling=False, minCount=None, maxCount=None, tags=tags))
    assert seen.size == PoolSize(0, False, None, None) and seen.original == PoolSize(2, True, 1, 3, "Running")


def test_malformed_tags_are_reported_not_fatal():
    seen = observed_pool(arm_pool(tags={"aks-hours-original-count": "two", "aks-hours-original-autoscaling": "true"}))
    assert seen.original is None and "aks-hours-original-count='two'" in seen.tag_errors[0]


def test_a_pool_in_an_operation_is_busy():
    assert observed_pool(arm_pool(provisioningState="Updating")).busy


# --- the PUT body ---------------------------------------------------------------------------------


def test_zeroing_turns_the_autoscaler_off_and_drops_its_bounds():
    tags = {"team": "ml", "aks-hours-original-count": "2"}
    body = wire(pool_body(AgentPool(arm_pool()), change(PoolSize(0, False, None, None), tags)))
    properties = body["properties"]
    assert (properties["count"], properties["enableAutoScaling"]) == (0, False)
    assert "minCount" not in properties and "maxCount" not in properties
    assert properties["tags"] == tags


def test_the_body_keeps_everything_else_as_observed():
    body = wire(pool_body(AgentPool(arm_pool()), change(PoolSize(0, False, None, None), {})))["properties"]
    assert body["vmSize"] == "Standard_NC4as_T4_v3" and body["nodeTaints"] == ["sku=gpu:NoSchedule"]
    assert body["nodeLabels"] == {"workload": "triton"} and body["orchestratorVersion"] == "1.32"
    assert body["mode"] == "User" and body["powerState"] == {"code": "Running"}


def test_the_body_carries_no_read_only_field():
    body = wire(pool_body(AgentPool(arm_pool()), change(PoolSize(0, False, None, None), {})))
    assert set(body) == {"properties"}  # no id, name, type, systemData
    for read_only in ("provisioningState", "eTag", "currentOrchestratorVersion"):
        assert read_only not in body["properties"]


def test_restoring_brings_back_the_autoscaler_and_its_bounds():
    raw = arm_pool(count=0, enableAutoScaling=False, minCount=None, maxCount=None)
    body = wire(pool_body(AgentPool(raw), change(PoolSize(2, True, 1, 3), {"team": "ml"})))["properties"]
    assert (body["count"], body["enableAutoScaling"], body["minCount"], body["maxCount"]) == (2, True, 1, 3)
    assert body["tags"] == {"team": "ml"}


def test_stopping_sets_the_power_state_and_keeps_the_count():
    body = wire(pool_body(AgentPool(arm_pool()), change(PoolSize(2, True, 1, 3, "Stopped"), {})))["properties"]
    assert body["powerState"] == {"code": "Stopped"} and body["count"] == 2


def test_the_observed_pool_is_not_changed_by_building_a_body():
    observed = AgentPool(arm_pool())
    pool_body(observed, change(PoolSize(0, False, None, None), {"x": "y"}))
    assert observed.count == 2 and observed.tags == {"team": "ml"}


def test_a_system_pool_gets_no_body():
    with pytest.raises(ValueError, match="System pool"):
        pool_body(AgentPool(arm_pool(mode="System")), change(PoolSize(0, False, None, None), {}))


# --- against the emulator, with the real azure-mgmt-containerservice client -----------------------

import time  # noqa: E402

from scaling.clusters.clients import MAX_RETRY_AFTER, Clients  # noqa: E402
from scaling.clusters.nodepools import NodePoolBackend, PoolObserveError  # noqa: E402
from scaling.plan.actions import Result  # noqa: E402
from scaling.plan.pools import encode_original  # noqa: E402
from scaling.settings import Settings  # noqa: E402


def emulator_backend(emu) -> NodePoolBackend:
    return NodePoolBackend(
        Clients(Settings(arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, local_credential=True))
    )


def demo(emu) -> ClusterId:
    return ClusterId(emu.subscription, emu.resource_group, "aks-demo")


def zero_change(cluster: ClusterId, seen) -> PoolChange:
    tags = {**seen.tags, **encode_original(seen.size)}
    return PoolChange(
        cluster, seen.name, seen.size, PoolSize(0, False, None, None), tags, Direction.DOWN, Why("project-b")
    )


def pool_named(pools, name):
    return next(p for p in pools if p.name == name)


@pytest.mark.integration
def test_observe_is_one_list_of_agent_pools(emu):
    pools = emulator_backend(emu).observe(demo(emu))
    assert [p.name for p in pools] == ["gpu", "projecta", "system"]
    assert emu.counters() == {("arm", "GET", "managedClusters/{cluster}/agentPools"): 1}
    gpu = pool_named(pools, "gpu")
    assert gpu.size == PoolSize(1, True, 0, 2, "Running") and gpu.mode == "User" and not gpu.busy


@pytest.mark.integration
def test_zero_and_restore_round_trip_through_the_tags(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    emu.reset_calls()
    down = backend.apply(zero_change(cluster, gpu))
    assert down.result is Result.OK, down.error
    # Started, not awaited: one PUT, no operation polling, and the pool is still busy.
    assert emu.counters() == {("arm", "PUT", "managedClusters/{cluster}/agentPools/{pool}"): 1}
    assert down.detail["operation"] and down.detail["provisioning_state"] == "Updating"
    assert emu.cluster("aks-demo").pool("gpu").provisioning_state != "Succeeded"
    emu.finish_operations()
    zeroed = pool_named(backend.observe(cluster), "gpu")
    assert zeroed.size == PoolSize(0, False, None, None) and zeroed.original == gpu.size
    assert emu.cluster("aks-demo").pool("gpu").nodes == 0
    tags = {k: v for k, v in zeroed.tags.items() if not k.startswith("aks-hours-")}
    up = backend.apply(PoolChange(cluster, "gpu", zeroed.size, zeroed.original, tags, Direction.UP, Why("project-b")))
    assert up.result is Result.OK, up.error
    emu.finish_operations()
    restored = pool_named(backend.observe(cluster), "gpu")
    assert restored.size == gpu.size and restored.original is None and restored.tags == gpu.tags


@pytest.mark.integration
def test_the_put_keeps_the_rest_of_the_pool(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    before = emu.cluster("aks-demo").pool("gpu")
    backend.apply(zero_change(cluster, gpu))
    emu.finish_operations()
    raw = backend._clients.arm(cluster.subscription).agent_pools.get(cluster.resource_group, cluster.name, "gpu")
    assert raw.vm_size == before.vm_size and raw.node_taints == ["sku=gpu:NoSchedule"]
    assert raw.node_labels == {"accelerator": "nvidia"}


@pytest.mark.integration
def test_stop_and_start_by_power_state(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    stopped = PoolSize(gpu.size.count, gpu.size.enable_auto_scaling, gpu.size.min_count, gpu.size.max_count, "Stopped")
    tags = {**gpu.tags, **encode_original(gpu.size)}
    outcome = backend.apply(PoolChange(cluster, "gpu", gpu.size, stopped, tags, Direction.DOWN, Why("p")))
    assert outcome.result is Result.OK, outcome.error
    emu.finish_operations()
    assert emu.cluster("aks-demo").pool("gpu").power_state == "Stopped"
    seen = pool_named(backend.observe(cluster), "gpu")
    start = backend.apply(PoolChange(cluster, "gpu", seen.size, seen.original, dict(gpu.tags), Direction.UP, Why("p")))
    assert start.result is Result.OK, start.error
    emu.finish_operations()
    assert emu.cluster("aks-demo").pool("gpu").power_state == "Running"


@pytest.mark.integration
def test_a_pool_busy_with_an_operation_is_busy_not_failed(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    assert backend.apply(zero_change(cluster, gpu)).result is Result.OK
    busy = pool_named(backend.observe(cluster), "gpu")  # Updating, the operation still running
    emu.reset_calls()
    again = backend.apply(
        PoolChange(cluster, "gpu", busy.size, PoolSize(1, False, None, None), {}, Direction.UP, Why("p"))
    )
    assert again.result is Result.BUSY and "OperationNotAllowed" in again.error
    assert emu.calls(service="arm", method="PUT") == 1  # a 409 is not retried


@pytest.mark.integration
def test_a_pool_changed_since_it_was_observed_is_busy(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    other = emulator_backend(emu)  # another instance changes the pool meanwhile
    other.observe(cluster)
    other.apply(zero_change(cluster, pool_named(other.observe(cluster), "gpu")))
    emu.finish_operations()
    outcome = backend.apply(zero_change(cluster, gpu))
    assert outcome.result is Result.BUSY and "eTag" in outcome.error


@pytest.mark.integration
def test_a_system_pool_is_never_put(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    system = pool_named(backend.observe(cluster), "system")
    emu.reset_calls()
    outcome = backend.apply(
        PoolChange(cluster, "system", system.size, PoolSize(0, False, None, None), {}, Direction.DOWN, Why("p"))
    )
    assert outcome.result is Result.FAILED and "System pool" in outcome.error
    assert emu.calls(service="arm", method="PUT") == 0


@pytest.mark.integration
def test_a_pool_not_observed_by_this_process_is_read_before_the_put(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(emulator_backend(emu).observe(cluster), "gpu")
    emu.reset_calls()
    assert backend.apply(zero_change(cluster, gpu)).result is Result.OK
    assert emu.calls(service="arm", method="GET", route="*agentPools/{pool}") == 1


@pytest.mark.integration
def test_short_throttling_is_retried_by_the_sdk(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    emu.throttle(retry_after=0.1, service="arm", method="PUT", times=2)
    outcome = backend.apply(zero_change(cluster, gpu))
    assert outcome.result is Result.OK and emu.calls(service="arm", method="PUT") == 3


@pytest.mark.integration
def test_a_long_retry_after_is_not_slept_through(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    gpu = pool_named(backend.observe(cluster), "gpu")
    emu.throttle(retry_after=MAX_RETRY_AFTER + 50, service="arm", method="PUT")
    started = time.monotonic()
    outcome = backend.apply(zero_change(cluster, gpu))
    assert outcome.result is Result.BUSY and "throttled" in outcome.error
    assert time.monotonic() - started < 5 and emu.calls(service="arm", method="PUT") == 1


@pytest.mark.integration
def test_a_failed_list_says_which_cluster(emu):
    emu.fail(400, service="arm", route="managedClusters/{cluster}/agentPools")
    with pytest.raises(PoolObserveError, match="node pools of aks-demo"):
        NodePoolBackend(
            Clients(Settings(arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, local_credential=True))
        ).observe(demo(emu))
