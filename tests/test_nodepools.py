"""Agent pools: what is observed of them and the PUT body that changes one (pure), then the real SDK
against the emulator (integration)."""

from __future__ import annotations

import json

import pytest
from azure.mgmt.containerservice._utils.model_base import SdkJSONEncoder
from azure.mgmt.containerservice.models import AgentPool

from scaling.actions import Direction, PoolChange, Why
from scaling.names import ClusterId
from scaling.nodepools import observed_pool, pool_body
from scaling.observed import PoolSize

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
    assert (seen.name, seen.mode, seen.vm_size, seen.provisioning_state) == ("gpu", "User", "Standard_NC4as_T4_v3", "Succeeded")
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
