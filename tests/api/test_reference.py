"""The reference Scale API's deployment endpoints, against Azurite and the AKS emulator: the same shapes
field by field, plus an override (so the next tick keeps the change) and audit rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scaling.annotations import ORIGINAL_REPLICAS
from tests.fixtures.api_world import AUTH

pytestmark = pytest.mark.integration

UTC = UTC
BASE = "/api/v1/deployments/project-a/sample-app-a"
# The reference API's documented fields (REFERENCE-API.md); ours may add more, never fewer.
SCALED_FIELDS = {
    "name",
    "namespace",
    "previous_replicas",
    "current_replicas",
    "target_replicas",
    "target_status",
    "scaling_reason",
    "scheduled_scale_up",
}
STATUS_FIELDS = {
    "name",
    "namespace",
    "deployment",
    "current_replicas",
    "desired_replicas",
    "available_replicas",
    "status",
    "last_scale_time",
}


def is_rfc3339_utc(text: str) -> bool:
    return text.endswith("Z") and datetime.fromisoformat(text.replace("Z", "+00:00")).tzinfo is not None


def test_status_has_the_reference_shape_field_by_field(world):
    response = world.client.get(f"{BASE}/status", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "Deployment status retrieved successfully"
    assert is_rfc3339_utc(body["timestamp"])
    deployment = body["deployment"]
    assert set(deployment) >= STATUS_FIELDS
    assert deployment["name"] == "sample-app-a"
    assert deployment["namespace"] == "project-a"
    assert deployment["deployment"] == "sample-app-a"
    assert deployment["desired_replicas"] == 2
    assert deployment["status"] in ("active", "scaling")  # pods of the fresh emulator may still be starting
    assert deployment["project"] == "project-a"


def test_scale_to_zero_has_the_reference_shape_and_holds_until_the_next_schedule_change(world):
    response = world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "not needed today"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["message"] == "Deployment scaled to zero"
    assert is_rfc3339_utc(body["timestamp"])
    deployment = body["deployment"]
    assert set(deployment) >= SCALED_FIELDS
    assert deployment["name"] == "sample-app-a"
    assert deployment["namespace"] == "project-a"
    assert deployment["previous_replicas"] == 2
    assert deployment["current_replicas"] == 0
    assert deployment["target_replicas"] == 0
    assert deployment["target_status"] == "scaled-to-zero"
    assert deployment["scaling_reason"] == "not needed today"
    assert deployment["scheduled_scale_up"] == "2026-11-24T18:00:00Z"  # Berlin 19:00, project-a's next change
    assert deployment["actor"] == "api-key"


def test_scale_to_zero_is_applied_at_once_with_the_original_remembered_on_the_object(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "cost"})
    assert world.replicas("project-a", "sample-app-a") == 0
    assert world.annotations("project-a", "sample-app-a")[ORIGINAL_REPLICAS] == "2"
    assert world.replicas("project-a", "sample-app-a2") == 1  # the other workload is untouched


def test_a_manual_scale_to_zero_survives_the_following_timer_tick(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "cost"})
    world.tick(minutes=5)  # business hours in Berlin: the schedule alone would bring it back to 2
    assert world.replicas("project-a", "sample-app-a") == 0
    world.tick(minutes=5)
    assert world.replicas("project-a", "sample-app-a") == 0


def test_scheduled_scale_up_ends_the_override_and_the_schedule_restores_the_exact_size(world):
    response = world.client.post(
        f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "lunch", "scheduled_scale_up": "2026-11-24T11:00:00Z"}
    )
    assert response.json()["deployment"]["scheduled_scale_up"] == "2026-11-24T11:00:00Z"
    world.tick(minutes=30)
    assert world.replicas("project-a", "sample-app-a") == 0
    world.tick(minutes=35)  # 11:05Z: the override has expired, Berlin is in business hours
    assert world.replicas("project-a", "sample-app-a") == 2
    assert ORIGINAL_REPLICAS not in world.annotations("project-a", "sample-app-a")


def test_scale_up_has_the_reference_shape(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "cost"})
    response = world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": 3, "reason": "demo"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Deployment scaled to 3 replicas"
    deployment = body["deployment"]
    assert set(deployment) >= SCALED_FIELDS
    assert deployment["previous_replicas"] == 0
    assert deployment["target_replicas"] == 3
    assert deployment["target_status"] == "scaling-up"
    assert 0 <= deployment["current_replicas"] <= 3  # ready replicas right now: pods take a moment
    assert world.replicas("project-a", "sample-app-a") == 3


def test_scale_up_can_go_down_to_a_smaller_count_and_the_tick_keeps_it(world):
    response = world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": 1, "reason": "quiet day"})
    assert response.status_code == 200, response.text
    assert response.json()["deployment"]["previous_replicas"] == 2
    assert world.replicas("project-a", "sample-app-a") == 1
    world.tick(minutes=5)
    assert world.replicas("project-a", "sample-app-a") == 1


def test_a_manual_scale_is_an_override_and_two_audit_rows_naming_the_caller(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "cost"})
    [override] = [o for o in world.context.overrides.all() if o.target is not None]
    assert (override.project, str(override.target), override.action.value) == (
        "project-a",
        "deployment/project-a/sample-app-a",
        "down",
    )
    assert override.actor == "api-key" and override.reason == "cost"
    rows = {r.action: r for r in world.audit_rows("project-a")}
    assert rows["override-set"].actor == "api-key" and rows["override-set"].trigger == "manual"
    scale = rows["scale-down"]
    assert (scale.target, scale.from_, scale.to, scale.result.value) == (
        "deployment/project-a/sample-app-a",
        "2",
        "0",
        "ok",
    )
    assert scale.actor == "api-key" and scale.reason.startswith("cost")


def test_status_after_a_manual_scale_shows_it(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "cost"})
    deployment = world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]
    assert deployment["desired_replicas"] == 0
    assert deployment["status"] in ("inactive", "scaling")
    assert deployment["last_scale_time"] == "2026-11-24T10:00:00Z"
    assert deployment["original_replicas"] == 2
    assert deployment["override"]["action"] == "down"


# -- error paths that need the real tables and clusters ---------------------------------------------------


def test_an_unknown_deployment_in_a_project_namespace_is_404_in_the_reference_words(world):
    response = world.client.get("/api/v1/deployments/project-a/sample-app-z/status", headers=AUTH)
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error"
    assert body["message"] == "Deployment project-a/sample-app-z not found"
    assert "aks-demo" in body["error"]


def test_scaling_an_unknown_deployment_is_404_and_records_nothing(world):
    response = world.client.post("/api/v1/deployments/project-a/nope/scale-to-zero", headers=AUTH, json={"reason": "x"})
    assert response.status_code == 404
    assert world.context.overrides.all() == []


def test_a_deployment_in_a_namespace_of_no_project_is_404_as_in_the_reference(world):
    response = world.client.post(
        "/api/v1/deployments/kube-system/coredns/scale-to-zero", headers=AUTH, json={"reason": "x"}
    )
    assert response.status_code == 404
    body = response.json()
    assert body["status"] == "error" and "timestamp" in body
    assert body["message"] == "Deployment kube-system/coredns not found"
    assert "no project lists namespace kube-system" in body["error"]
    assert world.context.overrides.all() == []


def test_a_deployment_its_project_excludes_is_403_saying_so(world):
    world.put_projects("""
projects:
  project-a:
    Cluster: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-hours-demo/providers/Microsoft.ContainerService/managedClusters/aks-demo
    Namespaces: project-a
    Exclude: deployment/sample-app-a2
    Uptime: Mon-Fri 08:00-19:00
    TimeZone: Europe/Berlin
""")
    response = world.client.post(
        "/api/v1/deployments/project-a/sample-app-a2/scale-up", headers=AUTH, json={"replicas": 2, "reason": "x"}
    )
    assert response.status_code == 403
    assert "Workloads / Exclude" in response.json()["error"]


def test_a_disabled_project_refuses_manual_scales_with_409(world):
    world.put_projects("""
projects:
  project-a:
    Cluster: /subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-hours-demo/providers/Microsoft.ContainerService/managedClusters/aks-demo
    Namespaces: project-a
    Uptime: Mon-Fri 08:00-19:00
    TimeZone: Europe/Berlin
    Enabled: false
""")
    response = world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "x"})
    assert response.status_code == 409
    assert "disabled" in response.json()["message"]
    assert world.replicas("project-a", "sample-app-a") == 2
