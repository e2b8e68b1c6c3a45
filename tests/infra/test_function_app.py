"""function_app.py as the Functions host sees it: the functions it indexes, their bindings, and calls made
the way the host makes them (real func.HttpRequest / func.TimerRequest objects)."""

from __future__ import annotations

import asyncio
import importlib
import json
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from tests.fixtures.function_index import indexed_functions

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def function_app():
    # The host indexes the app before any setting may resolve: importing needs none (the test
    # environment has no storage or ARM setting), and nothing is connected until a request needs it.
    return importlib.import_module("function_app")


def functions(module) -> dict:
    """The app's functions as the host indexes them (`get_functions()` may be called once per app)."""
    return indexed_functions()


def binding(function, kind: str) -> dict:
    return next(b for b in json.loads(function.get_function_json())["bindings"] if b["type"] == kind)


def test_the_app_indexes_the_api_health_and_timer_functions(function_app):
    assert set(functions(function_app)) == {"http_app_func", "health", "reconcile_timer", "reconcile_cluster"}


def test_every_api_route_needs_a_function_key(function_app):
    trigger = binding(functions(function_app)["http_app_func"], "httpTrigger")
    assert trigger["authLevel"] == "FUNCTION"
    assert trigger["route"] == "/{*route}"


def test_health_is_its_own_anonymous_function_on_a_literal_route(function_app):
    trigger = binding(functions(function_app)["health"], "httpTrigger")
    assert trigger["authLevel"] == "ANONYMOUS"
    assert trigger["route"] == "health"
    assert trigger["methods"] == ["GET"]


def test_the_timer_reads_its_schedule_from_the_setting_and_does_not_run_on_start(function_app):
    trigger = binding(functions(function_app)["reconcile_timer"], "timerTrigger")
    assert trigger["schedule"] == "%SCALING_TIMER%"
    assert trigger["runOnStartup"] is False
    assert trigger["useMonitor"] is True


def test_host_json_serves_the_reference_paths_without_a_prefix():
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensions"]["http"]["routePrefix"] == ""
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["functionTimeout"] == "00:10:00"
    assert host["logging"]["logLevel"]["Function"] == "Information"


def test_the_health_function_answers_without_a_key(function_app):
    handler = function_app.health.build().get_user_function()
    response = handler(func.HttpRequest(method="GET", url="/health", body=b""))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["status"] == "healthy" and body["time"].endswith("Z")


def test_the_asgi_function_serves_health_as_the_host_would_call_it(function_app):
    handler = functions(function_app)["http_app_func"].get_user_function()
    response = asyncio.run(handler(func.HttpRequest(method="GET", url="http://localhost/health", body=b""), None))
    assert response.status_code == 200
    assert json.loads(response.get_body())["status"] == "healthy"


def test_the_asgi_function_answers_bad_input_in_the_reference_shape(function_app):
    handler = functions(function_app)["http_app_func"].get_user_function()
    request = func.HttpRequest(
        method="POST",
        url="http://localhost/api/v1/deployments/project-a/sample-app-a/scale-up",
        headers={"Content-Type": "application/json"},
        body=b'{"replicas": "many"}',
    )
    response = asyncio.run(handler(request, None))
    assert response.status_code == 400
    body = json.loads(response.get_body())
    assert body["status"] == "error" and "replicas" in body["error"]


def test_local_settings_sample_lists_every_setting_the_app_reads():
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    read = set()
    import re

    for path in [
        ROOT / "scaling" / "settings.py",
        ROOT / "scaling" / "api" / "auth.py",
        ROOT / "scaling" / "cli" / "local.py",
        ROOT / "function_app.py",
    ]:
        read |= set(re.findall(r"env\.get\(\"([A-Za-z_]+)\"", path.read_text()))
    platform = {"WEBSITE_AUTH_ENABLED", "WEBSITE_HOSTNAME"}  # set by App Service itself, never by hand
    assert read - platform <= set(values), sorted(read - platform - set(values))
    docs = (ROOT / "docs" / "api.md").read_text()
    for name in values:
        assert f"`{name}`" in docs, f"{name} is not described in docs/api.md"


@pytest.mark.integration
def test_a_past_due_timer_runs_one_tick_and_logs_it(function_app, azurite, emu, table_names, monkeypatch, caplog):
    from scaling.api.backend import build_context, import_if_empty
    from scaling.page.app import LazyContext
    from tests.fixtures.api_world import world_settings

    context = build_context(world_settings(azurite, emu), table_names=table_names)
    import_if_empty(context, ROOT / "schedules.sample.yaml")
    monkeypatch.setattr(function_app, "context", LazyContext(lambda: context))
    handler = function_app.reconcile_timer.build().get_user_function()
    caplog.set_level("WARNING", logger="scaling.functions")

    handler(TimerRequest(past_due=True))  # the request object the host's converter builds

    assert "past due" in caplog.text
    rows = [
        row
        for project in ("project-a", "project-b", "nightly-batch")
        for row in context.audit.query(project=project, limit=100)[0]
    ]
    # Whatever the hour, one of the sample projects is outside its hours on the fresh emulator, so the
    # tick acts; and all its rows carry one tick id: the missed slots were not replayed one by one.
    assert rows and len({row.tick for row in rows}) == 1
