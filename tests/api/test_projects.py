"""Projects, project overrides, plans, audit and readiness, against Azurite and the AKS emulator."""

from __future__ import annotations

import pytest

from scaling.annotations import ORIGINAL_REPLICAS
from tests.fixtures.api_world import AUTH

pytestmark = pytest.mark.integration

OVERRIDE = "/api/v1/projects/project-a/override"


def project(world, name: str) -> dict:
    response = world.client.get(f"/api/v1/projects/{name}", headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["project"]


def test_projects_lists_every_sample_project_with_its_state(world):
    response = world.client.get("/api/v1/projects", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["name"] for p in body["projects"]] == ["nightly-batch", "platform-tools", "project-a", "project-b"]
    assert body["errors"] == []
    by_name = {p["name"]: p for p in body["projects"]}
    assert (by_name["project-a"]["desired"], by_name["project-a"]["scheduled"]) == ("up", "up")
    assert (by_name["project-b"]["desired"], by_name["project-b"]["scheduled"]) == ("down", "down")  # Tokyo 19:00
    assert by_name["platform-tools"]["next_change"] is None  # always up


def test_a_project_shows_desired_vs_actual_per_workload_and_pool_and_the_next_change(world):
    a = project(world, "project-a")
    assert a["cluster"].endswith("/managedClusters/aks-demo")
    assert a["timezone"] == "Europe/Berlin"
    assert a["schedule"].startswith("uptime Mon-Fri 08:00-19:00")
    workloads = {w["name"]: w for w in a["workloads"]}
    assert set(workloads) == {"sample-app-a", "sample-app-a2"}
    assert workloads["sample-app-a"] == {
        "kind": "deployment",
        "namespace": "project-a",
        "name": "sample-app-a",
        "desired": "up",
        "replicas": 2,
        "ready_replicas": workloads["sample-app-a"]["ready_replicas"],
        "original_replicas": None,
    }
    [pool] = a["node_pools"]
    assert (pool["name"], pool["desired"], pool["count"], pool["power_state"]) == ("projecta", "up", 2, "Running")
    assert a["next_change"] == {"at_utc": "2026-11-24T18:00:00Z", "at_local": "2026-11-24T19:00:00+01:00", "up": False}
    assert a["override"] is None and a["errors"] == []


def test_a_project_on_a_private_cluster_is_observed_through_run_command(world):
    batch = project(world, "nightly-batch")
    assert batch["errors"] == []
    assert batch["node_pools"][0]["name"] == "batch"


def test_an_unknown_project_is_404(world):
    response = world.client.get("/api/v1/projects/project-zzz", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["message"] == "Project project-zzz not found"


def test_a_project_whose_row_does_not_load_is_404_with_the_row_errors(world):
    world.context.projects._table.upsert_entity(
        {
            "PartitionKey": "project",
            "RowKey": "broken",
            "Cluster": "not-a-resource-id",
            "Namespaces": "x",
            "Uptime": "Mon-Fri 09:00-17:00",
        }
    )
    response = world.client.get("/api/v1/projects/broken", headers=AUTH)
    assert response.status_code == 404
    assert "has errors" in response.json()["message"] and "Cluster" in response.json()["error"]
    listed = world.client.get("/api/v1/projects", headers=AUTH).json()
    assert any("broken" in e and "Cluster" in e for e in listed["errors"])


def test_override_down_is_applied_at_once_and_recorded(world):
    response = world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "team offsite"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Project project-a held down until 2026-11-24T18:00:00Z (Tue 24 Nov 19:00 Europe/Berlin)"
    assert body["override"]["action"] == "down" and body["override"]["actor"] == "api-key"
    assert {"target": "deployment/project-a/sample-app-a", "from": "2", "to": "0", "result": "ok"}.items() <= next(
        r for r in body["results"] if r["target"] == "deployment/project-a/sample-app-a"
    ).items()
    pool = next(r for r in body["results"] if r["target"] == "nodepool/projecta")
    assert (pool["from"], pool["to"]) == ("2 (autoscale 0-3)", "0")  # JSON fields, not a Python repr of the pool size
    assert world.replicas("project-a", "sample-app-a") == 0
    assert world.replicas("project-a", "sample-app-a2") == 0
    assert world.annotations("project-a", "sample-app-a")[ORIGINAL_REPLICAS] == "2"
    assert world.emulator.cluster("aks-demo").pool("projecta").count == 0  # the pool PUT was started
    actions = [r.action for r in world.audit_rows("project-a")]
    assert "override-set" in actions and actions.count("scale-down") >= 3


def test_a_project_override_survives_the_following_tick_and_shows_in_the_project(world):
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "team offsite"})
    world.tick(minutes=5)
    assert world.replicas("project-a", "sample-app-a") == 0
    a = project(world, "project-a")
    assert (a["desired"], a["scheduled"]) == ("down", "up")
    assert a["override"]["reason"] == "team offsite"
    assert {w["desired"] for w in a["workloads"]} == {"down"}


def test_override_up_keeps_a_project_up_after_hours(world):
    world.client.post(
        "/api/v1/projects/project-b/override",
        headers=AUTH,
        json={"action": "up", "reason": "release night", "until": "2026-11-24T14:00:00Z"},
    )
    assert world.replicas("project-b", "triton-resnet50") == 1
    world.tick(minutes=5)
    assert world.replicas("project-b", "triton-resnet50") == 1
    world.tick(hours=4)  # 14:05Z: the override is over, Tokyo is closed
    assert world.replicas("project-b", "triton-resnet50") == 0


def test_deleting_the_override_gives_the_project_back_to_its_schedule_at_once(world):
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "team offsite"})
    world.emulator.finish_operations()  # the pool's scale-down is done
    response = world.client.delete(OVERRIDE, headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.json()["message"] == "Override of project project-a cleared; the schedule applies"
    assert world.replicas("project-a", "sample-app-a") == 2  # business hours: restored exactly
    assert world.replicas("project-a", "sample-app-a2") == 1
    assert world.context.overrides.all() == []
    assert "override-clear" in [r.action for r in world.audit_rows("project-a")]


def test_a_pool_still_busy_is_left_to_the_next_tick_and_said_so(world):
    world.emulator.set_delays(pool_operation=60)  # the scale-down below is still running at the DELETE
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "team offsite"})
    response = world.client.delete(OVERRIDE, headers=AUTH)  # the pool's scale-down is still running
    assert response.status_code == 200, response.text
    body = response.json()
    assert "1 change(s) not done yet, the next tick retries" in body["message"]
    assert any(r["target"] == "nodepool/projecta" and r["result"] == "busy" for r in body["results"])
    assert world.replicas("project-a", "sample-app-a") == 2


def test_deleting_one_deployments_override_by_target(world):
    world.client.post("/api/v1/deployments/project-a/sample-app-a/scale-to-zero", headers=AUTH, json={"reason": "x"})
    response = world.client.delete(OVERRIDE + "?target=deployment/project-a/sample-app-a", headers=AUTH)
    assert response.status_code == 200, response.text
    assert world.replicas("project-a", "sample-app-a") == 2


def test_deleting_an_override_that_is_not_there_is_404(world):
    response = world.client.delete(OVERRIDE, headers=AUTH)
    assert response.status_code == 404
    assert response.json()["message"] == "No active override for project project-a"


def test_an_override_of_an_unknown_project_is_404_and_records_nothing(world):
    response = world.client.post(
        "/api/v1/projects/project-zzz/override", headers=AUTH, json={"action": "down", "reason": "x"}
    )
    assert response.status_code == 404
    assert world.context.overrides.all() == []


def test_plan_lists_the_coming_transitions_in_utc_and_local_time(world):
    response = world.client.get("/api/v1/projects/project-a/plan?days=2", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["project"], body["timezone"], body["days"]) == ("project-a", "Europe/Berlin", 2)
    assert body["transitions"] == [
        {"at_utc": "2026-11-24T18:00:00Z", "at_local": "2026-11-24T19:00:00+01:00", "up": False},
        {"at_utc": "2026-11-25T07:00:00Z", "at_local": "2026-11-25T08:00:00+01:00", "up": True},
        {"at_utc": "2026-11-25T18:00:00Z", "at_local": "2026-11-25T19:00:00+01:00", "up": False},
        {"at_utc": "2026-11-26T07:00:00Z", "at_local": "2026-11-26T08:00:00+01:00", "up": True},
    ]


def test_audit_is_paged_newest_first(world):
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "one"})
    first = world.client.get("/api/v1/audit?project=project-a&limit=2", headers=AUTH).json()
    assert len(first["rows"]) == 2 and first["continuation"]
    rest = world.client.get(
        f"/api/v1/audit?project=project-a&limit=100&continuation={first['continuation']}", headers=AUTH
    ).json()
    rows = first["rows"] + rest["rows"]
    assert rest["continuation"] is None
    assert {r["action"] for r in rows} >= {"override-set", "scale-down"}
    assert all(r["project"] == "project-a" for r in rows)
    row = next(r for r in rows if r["action"] == "scale-down" and r["target"] == "deployment/project-a/sample-app-a")
    assert (row["from"], row["to"], row["trigger"], row["actor"], row["result"]) == (
        "2",
        "0",
        "override",
        "api-key",
        "ok",
    )


def test_audit_by_time_window(world):
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "one"})
    before = world.client.get(
        "/api/v1/audit?until=2026-11-24T09:00:00Z&since=2026-11-24T00:00:00Z", headers=AUTH
    ).json()
    assert before["rows"] == []
    around = world.client.get(
        "/api/v1/audit?since=2026-11-24T09:00:00Z&until=2026-11-24T11:00:00Z", headers=AUTH
    ).json()
    assert any(r["action"] == "override-set" for r in around["rows"])


def test_a_continuation_that_is_not_ours_is_400(world):
    response = world.client.get("/api/v1/audit?project=project-a&continuation=bm9wZQ", headers=AUTH)
    assert response.status_code == 400
    assert "continuation" in response.json()["error"]


def test_ready_checks_storage_and_every_cluster_and_answers_only_the_reference_fields(world):
    response = world.client.get("/ready")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "kubernetes", "time"}  # no "error": null, no extras
    assert (body["status"], body["kubernetes"]) == ("ready", "connected")


def test_ready_is_503_naming_the_cluster_that_does_not_answer(world):
    world.emulator.fail(500, service="kube", cluster="aks-demo")
    response = world.client.get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["error"] == "unable to connect to Kubernetes API"  # the reference's text
    assert body["checks"]["cluster aks-demo"].startswith("unreachable")
    assert body["checks"]["table-storage"] == "ok"


def test_a_project_shows_its_last_failed_action_until_that_target_succeeds(world):
    world.emulator.fail(500, service="kube", cluster="aks-demo", method="PATCH")
    world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "offsite"})
    errors = project(world, "project-a")["errors"]
    assert any("deployment/project-a/sample-app-a scale-down: failed" in e for e in errors), errors
    world.emulator.clear_faults()
    world.tick(minutes=5)
    assert not any("sample-app-a scale-down" in e for e in project(world, "project-a")["errors"])


# -- times people type: `until` in the project's zone, `for` a duration, the per-project cap -----------


def test_until_given_as_a_wall_clock_time_is_read_in_the_projects_zone(world):
    # Tuesday 2026-11-24 10:00Z is 11:00 in Berlin: "22:00" is 22:00 Berlin tonight, 21:00Z
    body = {"action": "up", "reason": "release rehearsal", "until": "22:00"}
    response = world.client.post(OVERRIDE, headers=AUTH, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["override"]["until"] == "2026-11-24T21:00:00Z"
    assert "(Tue 24 Nov 22:00 Europe/Berlin)" in response.json()["message"]


def test_for_a_duration_counts_from_now(world):
    response = world.client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "demo", "for": "2h"})
    assert response.status_code == 200, response.text
    assert response.json()["override"]["until"] == "2026-11-24T12:00:00Z"


def test_until_and_for_together_are_refused(world):
    body = {"action": "up", "reason": "demo", "for": "2h", "until": "22:00"}
    response = world.client.post(OVERRIDE, headers=AUTH, json=body)
    assert response.status_code == 400
    assert "until or for, not both" in response.json()["error"]


def test_a_long_weekend_is_refused_naming_the_setting_that_caps_it(world):
    response = world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "x", "for": "4d"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert "longer than 72 hours" in error and "SCALING_MAX_OVERRIDE_HOURS=72" in error
    assert "MaxOverrideHours" in error


def test_a_projects_max_override_hours_column_allows_a_long_weekend(world):
    world.context.projects._table.update_entity(
        {"PartitionKey": "project", "RowKey": "project-a", "MaxOverrideHours": 100}, mode="merge"
    )
    response = world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "x", "for": "4d"})
    assert response.status_code == 200, response.text
    assert response.json()["override"]["until"] == "2026-11-28T10:00:00Z"
    too_long = world.client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "x", "for": "5d"})
    assert too_long.status_code == 400
    assert "the project's MaxOverrideHours column (100)" in too_long.json()["error"]


def test_an_unreadable_until_says_what_it_understands(world):
    response = world.client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "x", "until": "tonight"})
    assert response.status_code == 400
    assert "'tonight'" in response.json()["error"] and "22:00" in response.json()["error"]
