"""Releases over HTTP: POST /api/v1/projects/{project}/release, /api/v1/release/orphans, GET /api/v1/releases,
and the status page's Releases section; every one authenticated, a dry run changes nothing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scaling.model import Release
from tests.fixtures.api_world import AUTH

pytestmark = pytest.mark.integration
GPU_WARNING = "1 GPU pool"


def night(world):
    """Tuesday 19:00 Tokyo: project-b (GPU pool) is down; then its row asks to be released at opening."""
    world.tick()
    world.emulator.finish_operations()
    b = world.context.projects.load().get("project-b")
    world.context.projects.upsert([replace(b, enabled=False, release=Release.AT_OPENING)])


def test_release_endpoints_need_the_api_key(world):
    assert world.client.post("/api/v1/projects/project-b/release").status_code == 401
    assert world.client.post("/api/v1/release/orphans").status_code == 401
    assert world.client.get("/api/v1/releases").status_code == 401


def test_a_dry_run_release_answers_with_the_gpu_warning_and_changes_nothing(world):
    night(world)
    response = world.client.post("/api/v1/projects/project-b/release?dry_run=true", headers=AUTH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True and any("nodepool/gpu" in line for line in body["results"])
    assert any(GPU_WARNING in w for w in body["warnings"])
    assert world.replicas("project-b", "triton-resnet50") == 0


def test_releasing_a_project_gives_its_sizes_back(world):
    night(world)
    response = world.client.post("/api/v1/projects/project-b/release", headers=AUTH)
    assert response.status_code == 200, response.text
    world.emulator.finish_operations()
    assert world.replicas("project-b", "triton-resnet50") == 1
    rows = [r for r in world.audit_rows("project-b") if (r.reason or "").startswith("released: asked")]
    assert rows and all(r.trigger == "manual" for r in rows)


def test_releases_lists_what_waits_for_the_opening(world):
    night(world)
    body = world.client.get("/api/v1/releases", headers=AUTH).json()
    assert any("nodepool/gpu" in line and "next opening" in line for line in body["waiting"])
    assert body["due"] == [] and body["orphans"] == []


def test_releases_lists_orphans_and_the_release_endpoint_gives_them_back(world):
    night(world)
    world.context.projects.prune([n for n in world.context.projects.read() if n != "project-b"])
    body = world.client.get("/api/v1/releases", headers=AUTH).json()
    targets = {o["target"] for o in body["orphans"]}
    assert {"deployment/project-b/triton-resnet50", "nodepool/gpu"} <= targets
    assert any(GPU_WARNING in w for w in body["warnings"])  # the next tick releases a deleted row's pool
    response = world.client.post("/api/v1/release/orphans", headers=AUTH)
    assert response.status_code == 200, response.text
    world.emulator.finish_operations()
    assert world.replicas("project-b", "triton-resnet50") == 1


def test_the_status_page_lists_what_is_about_to_be_released(world):
    night(world)
    page = world.client.get("/?fragment=1", headers=AUTH).text
    assert '<section id="releases">' in page and "nodepool/gpu" in page
