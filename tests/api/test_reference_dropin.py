"""A drop-in for the reference Scale API's callers: each behaviour of the reference (its handlers, models and
middleware in torumakabe/aks-scale-to-zero, src/api) that its scripts and tests rely on, one test each."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime

import pytest

from tests.fixtures.api_world import AUTH

pytestmark = pytest.mark.integration

UTC = UTC
BASE = "/api/v1/deployments/project-a/sample-app-a"
GPU_BASE = "/api/v1/deployments/project-b/triton-resnet50"
ZERO_TIME = "0001-01-01T00:00:00Z"


def scale_up(world, replicas=3, **extra):
    return world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": replicas, "reason": "demo", **extra})


# -- fields and their values ------------------------------------------------------------------------------


def test_last_scale_time_of_a_deployment_never_scaled_is_its_creation_time(world):
    created = world.deployment("project-a", "sample-app-a")["metadata"]["creationTimestamp"]
    deployment = world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]
    assert deployment["last_scale_time"] == created


def test_last_scale_time_after_a_manual_scale_is_that_scale(world):
    world.clock.advance(minutes=7)
    scale_up(world)
    deployment = world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]
    assert deployment["last_scale_time"] == "2026-11-24T10:07:00Z"


def test_status_always_carries_last_scaled_as_the_zero_time(world):
    assert world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]["last_scaled"] == ZERO_TIME


def test_status_current_replicas_counts_the_pods_created_not_the_ready_ones(world):
    world.emulator.set_delays(ready=60)  # pods created at once, ready much later
    scale_up(world, replicas=4)
    deployment = world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]
    assert deployment["current_replicas"] == 4  # .status.replicas
    assert deployment["available_replicas"] < 4  # .status.availableReplicas
    assert deployment["status"] == "active"  # the reference compares created pods with desired


def test_status_is_inactive_as_soon_as_desired_is_zero(world):
    world.emulator.set_delays(ready=60)
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "x"})
    assert world.client.get(f"{BASE}/status", headers=AUTH).json()["deployment"]["status"] == "inactive"


def test_scale_responses_always_carry_replicas_and_scaled_at_as_zero_values(world):
    for response in (scale_up(world), world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={})):
        deployment = response.json()["deployment"]
        assert (deployment["replicas"], deployment["scaled_at"]) == (0, ZERO_TIME)


def test_scale_up_current_replicas_is_the_pods_created_before_the_scale(world):
    deployment = scale_up(world, replicas=5).json()["deployment"]
    assert (deployment["previous_replicas"], deployment["current_replicas"], deployment["target_replicas"]) == (2, 2, 5)


def test_scale_to_zero_current_replicas_is_zero(world):
    assert (
        world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={}).json()["deployment"]["current_replicas"] == 0
    )


# -- fixed messages, pending work apart ---------------------------------------------------------------------


def test_a_scale_whose_node_pool_is_still_busy_keeps_the_fixed_message_and_lists_the_pool_as_pending(world):
    world.emulator.set_delays(pool_operation=120)
    world.tick()  # 10:00Z is 19:00 in Tokyo: project-b goes down, its GPU pool starts stopping
    response = world.client.post(f"{GPU_BASE}/scale-up", headers=AUTH, json={"replicas": 1, "reason": "demo"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Deployment scaled to 1 replicas"
    assert any(line.startswith("nodepool/gpu") and "busy" in line for line in body["pending"]), body["pending"]
    assert world.replicas("project-b", "triton-resnet50") == 1


def test_nothing_pending_means_an_empty_pending_list_and_no_warnings(world):
    body = scale_up(world).json()
    assert (body["message"], body["pending"], body["warnings"]) == ("Deployment scaled to 3 replicas", [], [])


def test_a_scale_the_cluster_refuses_is_500_failed_to_scale_deployment(world):
    world.emulator.fail(500, service="kube", cluster="aks-demo", method="PATCH")
    response = scale_up(world)
    assert response.status_code == 500
    assert response.json()["message"] == "Failed to scale deployment"


# -- X-Request-ID --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/health", {}),
        ("GET", "/ready", {}),
        ("GET", f"{BASE}/status", AUTH),
        ("GET", f"{BASE}/status", {}),  # 401
        ("GET", "/api/v1/deployments/project-a/nope/status", AUTH),  # 404
        ("POST", f"{BASE}/scale-up", AUTH),  # 400: no body
    ],
    ids=["health", "ready", "status", "401", "404", "400"],
)
def test_the_caller_s_x_request_id_is_echoed_on_every_response(world, method, path, headers):
    response = world.client.request(method, path, headers={**headers, "X-Request-ID": "test-request-id"})
    assert response.headers["X-Request-ID"] == "test-request-id"


def test_without_an_x_request_id_one_is_made_in_the_reference_s_form(world):
    made = {world.client.get("/health").headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3
    assert all(re.fullmatch(r"\d{14}-[A-Za-z0-9]{8}", value) for value in made), made


def test_an_unusable_x_request_id_is_replaced_by_a_new_one(world):
    response = world.client.get("/health", headers={"X-Request-ID": "x" * 201})
    assert re.fullmatch(r"\d{14}-[A-Za-z0-9]{8}", response.headers["X-Request-ID"])


def test_the_request_log_line_carries_the_request_id(world, caplog):
    with caplog.at_level(logging.INFO, logger="scaling.page.app"):
        world.client.get(f"{BASE}/status", headers={**AUTH, "X-Request-ID": "trace-42", "User-Agent": "test-agent"})
    [line] = [r for r in caplog.records if getattr(r, "path", None) == f"{BASE}/status"]
    assert (line.request_id, line.status, line.method, line.user_agent) == ("trace-42", 200, "GET", "test-agent")


# -- leniency: what the reference accepts ----------------------------------------------------------------------


def test_scale_to_zero_with_an_empty_body_object_is_accepted_and_recorded_without_a_reason(world):
    response = world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "scaling_reason" not in body["deployment"]  # the reference leaves an empty reason out
    assert body["warnings"] == ["no reason given: recorded as 'no reason given'"]
    assert world.replicas("project-a", "sample-app-a") == 0
    assert [o.reason for o in world.context.overrides.all()] == ["no reason given"]


def test_a_json_body_sent_as_a_form_is_read_as_json_like_curl_d_without_a_header(world):
    response = world.client.post(
        f"{BASE}/scale-up",
        headers={**AUTH, "Content-Type": "application/x-www-form-urlencoded"},
        content=b'{"replicas": 3, "reason": "curl -d"}',
    )
    assert response.status_code == 200, response.text
    assert world.replicas("project-a", "sample-app-a") == 3


def test_unknown_body_fields_are_ignored_and_named_in_warnings(world):
    response = scale_up(world, replica=9, note="hi")
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == [
        "body field note is not a field of this endpoint: ignored",
        "body field replica is not a field of this endpoint: ignored",
    ]


def test_a_scheduled_scale_up_beyond_72_hours_is_accepted_held_for_72_hours_and_echoed_as_sent(world):
    far = "2026-11-30T09:00:00Z"
    response = world.client.post(
        f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "away", "scheduled_scale_up": far}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["deployment"]["scheduled_scale_up"] == far
    assert "held until 2026-11-27T10:00:00Z" not in body["warnings"][0]
    assert "holds it until 2026-11-27T10:00:00Z" in body["warnings"][0]
    [override] = world.context.overrides.all()
    assert override.until == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_a_scheduled_scale_up_in_the_past_is_accepted_and_held_until_the_next_schedule_change(world):
    response = world.client.post(
        f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "x", "scheduled_scale_up": "2026-11-24T09:00:00Z"}
    )
    assert response.status_code == 200, response.text
    assert "not in the future" in response.json()["warnings"][0]
    [override] = world.context.overrides.all()
    assert override.until == datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # Berlin 19:00


def test_replicas_above_scaling_max_replicas_are_accepted_with_a_warning(world):
    response = scale_up(world, replicas=80)
    assert response.status_code == 200, response.text
    assert "above SCALING_MAX_REPLICAS (50)" in response.json()["warnings"][0]
    assert world.replicas("project-a", "sample-app-a") == 80


def test_a_blank_scale_up_reason_is_accepted_with_a_warning(world):
    response = world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": 2, "reason": "   "})
    assert response.status_code == 200, response.text
    assert response.json()["warnings"] == ["the reason has no visible character: recorded as 'no reason given'"]


def test_a_long_scale_to_zero_reason_is_accepted_and_its_first_500_characters_recorded(world):
    response = world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "y" * 600})
    assert response.status_code == 200, response.text
    assert response.json()["deployment"]["scaling_reason"] == "y" * 600  # echoed as sent, like the reference
    assert [len(o.reason) for o in world.context.overrides.all()] == [500]


def test_a_long_scale_up_reason_is_400_as_in_the_reference(world):
    response = world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": 2, "reason": "y" * 501})
    assert (response.status_code, response.json()["message"]) == (400, "Invalid request body")


def test_zero_replicas_on_scale_up_is_400_invalid_request_body(world):
    response = world.client.post(f"{BASE}/scale-up", headers=AUTH, json={"replicas": 0, "reason": "x"})
    assert (response.status_code, response.json()["message"]) == (400, "Invalid request body")


def test_an_unknown_namespace_stays_404_and_the_key_stays_required(world):
    response = world.client.get("/api/v1/deployments/nobody/app/status", headers=AUTH)
    assert (response.status_code, response.json()["message"]) == (404, "Deployment nobody/app not found")
    assert world.client.get(f"{BASE}/status").status_code == 401


def test_scaling_to_zero_a_deployment_already_at_zero_is_200_with_the_same_message(world):
    world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "x"})
    response = world.client.post(f"{BASE}/scale-to-zero", headers=AUTH, json={"reason": "again"})
    assert (response.status_code, response.json()["message"]) == (200, "Deployment scaled to zero")
    assert response.json()["deployment"]["previous_replicas"] == 0
