"""Bad input and missing credentials are refused with the reference error shape, before any storage or
cluster is touched (the app here has a context factory that fails the test if it is ever called)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient

from scaling.api.auth import AuthConfig
from scaling.page.app import create_app
from scaling.settings import Settings

KEY = "test-key-123"
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday
SCALE_UP = "/api/v1/deployments/project-a/sample-app-a/scale-up"
SCALE_TO_ZERO = "/api/v1/deployments/project-a/sample-app-a/scale-to-zero"
OVERRIDE = "/api/v1/projects/project-a/override"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _untouchable():
    raise AssertionError("the request reached storage / clusters; it should have been refused before")


def make_client(*, api_key: str | None = KEY, behind_host: bool = False) -> httpx.Client:
    settings = dataclasses.replace(Settings.from_env({}), api_key=api_key)
    auth = AuthConfig(api_key=api_key, behind_functions_host=behind_host, trust_principal_header=False)
    app = create_app(_untouchable, settings, clock=lambda: NOW, auth=auth)
    return TestClient(app)  # an httpx.Client over the ASGI app, in-process


@pytest.fixture
def client():
    with make_client() as c:
        yield c


def assert_error(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status", "message", "error", "timestamp"}
    assert body["status"] == "error"
    assert body["timestamp"].endswith("Z")
    text = (body["message"] + " " + body["error"]).lower()
    for word in words:
        assert word.lower() in text, f"{word!r} not in {text!r}"
    return body


# -- 401 ------------------------------------------------------------------------------------------------


def test_a_call_without_the_api_key_is_401_saying_how_to_send_it(client):
    response = client.get("/api/v1/projects")
    body = assert_error(response, 401, "Authorization: Bearer")
    assert body["error"] == "Authorization header required"  # the reference's words
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_api_key_is_401(client):
    body = assert_error(client.get("/api/v1/projects", headers={"Authorization": "Bearer nope"}), 401)
    assert body["error"] == "Invalid API key"  # the reference's words


def test_a_key_without_the_bearer_scheme_is_401_in_the_reference_words(client):
    body = assert_error(client.get("/api/v1/projects", headers={"Authorization": "nope"}), 401)
    assert body["error"] == "Invalid authorization format. Use: Bearer <api-key>"


def test_a_wrong_x_api_key_is_401(client):
    assert_error(client.get("/api/v1/audit", headers={"X-API-Key": "nope"}), 401, "invalid api key")


def test_the_key_is_checked_before_the_body(client):
    assert_error(client.post(SCALE_UP, content=b"{broken"), 401)


def test_mutating_endpoints_are_refused_without_a_key_when_none_is_configured_outside_functions():
    with make_client(api_key=None) as c:
        assert_error(c.post(OVERRIDE, json={"action": "down", "reason": "x"}), 401, "no API key is configured")


def test_a_bearer_key_gets_past_authentication(client):
    # 400 (the body), not 401: the key was accepted
    assert_error(client.post(SCALE_UP, headers=AUTH, json={}), 400)


def test_an_x_api_key_gets_past_authentication(client):
    assert_error(client.post(SCALE_UP, headers={"X-API-Key": KEY}, json={}), 400)


def test_behind_the_functions_host_without_an_api_key_the_host_key_suffices():
    with make_client(api_key=None, behind_host=True) as c:
        assert_error(c.post(SCALE_UP, json={}), 400)


def test_health_needs_no_key(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "time": "2026-11-24T10:00:00Z"}


def test_the_openapi_document_needs_no_key(client):
    assert client.get("/openapi.json").status_code == 200


# -- 400 ------------------------------------------------------------------------------------------------


def test_a_body_that_is_not_json_is_400_in_the_reference_words(client):
    response = client.post(SCALE_UP, headers={**AUTH, "Content-Type": "application/json"}, content=b"{replicas: 2")
    body = assert_error(response, 400, "not valid json")
    assert body["message"] == "Invalid request body"


def test_a_json_array_body_is_400_saying_cannot_unmarshal_as_the_reference_does(client):
    body = assert_error(client.post(SCALE_UP, headers=AUTH, json=[1, 2]), 400, "cannot unmarshal array", "JSON object")
    assert body["message"] == "Invalid request body"


def test_a_json_string_body_is_400_saying_cannot_unmarshal(client):
    body = assert_error(client.post(SCALE_UP, headers=AUTH, json="invalid json"), 400, "cannot unmarshal string")
    assert body["message"] == "Invalid request body"


def test_a_body_without_json_content_type_is_400_naming_the_header_outside_the_reference_routes(client):
    response = client.post(
        OVERRIDE, headers={**AUTH, "Content-Type": "text/plain"}, content=b'{"action": "down", "reason": "x"}'
    )
    assert_error(response, 400, "Content-Type: application/json", "text/plain")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"reason": "x"}, ["replicas is required"]),
        ({"replicas": 2}, ["reason is required"]),
        ({"replicas": "2", "reason": "x"}, ["replicas", "integer"]),
        ({"replicas": 2.5, "reason": "x"}, ["replicas", "integer"]),
        ({"replicas": True, "reason": "x"}, ["replicas", "integer"]),
        ({"replicas": 0, "reason": "x"}, ["replicas", "greater than or equal to 1"]),
        ({"replicas": -1, "reason": "x"}, ["replicas"]),
        ({"replicas": 2, "reason": ""}, ["reason", "at least 1 character"]),
        ({"replicas": 10_001, "reason": "x"}, ["replicas", "above 10000", "remember"]),
        ({"replicas": 2**31, "reason": "x"}, ["replicas", "less than or equal to 2147483647"]),
        ({"replicas": 2, "reason": "x" * 501}, ["reason", "at most 500"]),
        ({"replicas": 2, "reason": "a\nb"}, ["reason", "control characters"]),
        ({"replicas": 2, "reason": "a\x00b"}, ["reason", "control characters"]),
        ({"replicas": 2, "reason": "ok \u202edecnalab"}, ["reason", "bidirectional"]),
        ({"replicas": 2, "reason": "ok\u200bx"}, ["body field reason", "U+200B ZERO WIDTH SPACE at position 3"]),
        ({"replicas": 2, "reason": 5}, ["reason"]),
        ({"replicas": 2, "reason": "x", "until": "2026-11-24T18:00:00"}, ["until", "time zone"]),
        ({"replicas": 2, "reason": "x", "until": "tomorrow"}, ["until"]),
    ],
    ids=lambda v: str(v)[:60] if isinstance(v, dict) else None,
)
def test_scale_up_validation_is_400_saying_what_and_where(client, body, words):
    response = assert_error(client.post(SCALE_UP, headers=AUTH, json=body), 400, *words)
    assert response["message"] == "Invalid request body"  # the reference's fixed message


def test_a_reason_of_exactly_500_characters_is_accepted_by_validation():
    from scaling.api.models import ScaleUpRequest

    assert len(ScaleUpRequest(replicas=1, reason="x" * 500).reason) == 500


def test_scale_to_zero_with_two_different_ends_is_400(client):
    body = {"reason": "x", "until": "2026-11-24T18:00:00Z", "scheduled_scale_up": "2026-11-24T19:00:00Z"}
    assert_error(client.post(SCALE_TO_ZERO, headers=AUTH, json=body), 400, "either until or scheduled_scale_up")


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/v1/deployments/Project_A/app/status", ["namespace 'Project_A'", "DNS-1123"]),
        ("/api/v1/deployments/project-a/App!/status", ["deployment name 'App!'", "DNS-1123"]),
        ("/api/v1/deployments/project-a/-app/status", ["deployment name"]),
        ("/api/v1/deployments/" + "a" * 64 + "/app/status", ["namespace"]),
        ("/api/v1/deployments/project-a/a%27%20or%20%271/status", ["deployment name"]),
        ("/api/v1/deployments/project-a/%24%28reboot%29/status", ["deployment name"]),
        ("/api/v1/projects/Bad_Project", ["project 'Bad_Project'"]),
        ("/api/v1/projects/project-a/plan?days=0", ["days"]),
        ("/api/v1/projects/project-a/plan?days=32", ["days"]),
        ("/api/v1/projects/project-a/plan?days=seven", ["days"]),
        ("/api/v1/audit?limit=0", ["limit"]),
        ("/api/v1/audit?limit=1001", ["limit"]),
        ("/api/v1/audit?project=Nope%27", ["project"]),
        ("/api/v1/audit?since=2026-11-01", ["since", "time zone"]),
        ("/api/v1/audit?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z", ["since must be before until"]),
        ("/api/v1/audit?since=9999-12-31T23:00:00-14:00", ["since", "out of range"]),
        ("/api/v1/audit?until=0001-01-01T00:00:00%2B14:00", ["until", "out of range"]),
        # every UTC day is a partition to read: an unbounded window without a project would never end
        ("/api/v1/audit?since=1970-01-01T00:00:00Z", ["at most 31 days", "give project"]),
        # day arithmetic near year 1 or 9999 overflows: dates are bounded like the report's months
        ("/api/v1/audit?until=0001-01-20T00:00:00Z", ["query parameter until 0001-01-20", "within 1970-9000"]),
        ("/api/v1/audit?project=project-a&since=0001-01-01T00:00:00Z", ["query parameter since", "1970-9000"]),
        ("/api/v1/audit?project=project-a&until=9999-12-31T00:00:00Z", ["query parameter until", "1970-9000"]),
        ("/api/v1/audit?since=2026-01-01T00:00:00Z&until=2026-03-01T00:00:00Z", ["at most 31 days"]),
    ],
)
def test_bad_names_and_query_parameters_are_400(client, path, words):
    assert_error(client.get(path, headers=AUTH), 400, *words)


def test_an_override_with_an_unknown_action_is_400(client):
    assert_error(client.post(OVERRIDE, headers=AUTH, json={"action": "sideways", "reason": "x"}), 400, "action")


def test_clearing_an_override_with_a_malformed_target_is_400(client):
    response = client.delete(OVERRIDE + "?target=deployment/../etc", headers=AUTH)
    assert_error(response, 400, "target")


# -- 413, 404, 405 --------------------------------------------------------------------------------------


def test_a_body_over_64_kib_is_413(client):
    body = {"replicas": 2, "reason": "x" * (70 * 1024)}
    assert_error(client.post(SCALE_UP, headers=AUTH, json=body), 413, "too large")


def test_a_streamed_body_over_the_limit_without_content_length_is_413(client):
    def chunks():
        for _ in range(20):
            yield b"x" * 8192

    assert_error(client.post(SCALE_UP, headers=AUTH, content=chunks()), 413, "too large")


def test_an_unknown_path_is_404_in_the_reference_shape(client):
    assert_error(client.get("/api/v1/nothing-here", headers=AUTH), 404, "no endpoint at /api/v1/nothing-here")


def test_a_wrong_method_is_405_in_the_reference_shape(client):
    assert_error(client.delete("/health"), 405)


# -- 503: Table Storage unreachable at a cold start -----------------------------------------------------

SECRET = "c2VjcmV0LWtleS1zaG91bGQtbm90LWxlYWs="
UNREACHABLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    f"AccountKey={SECRET};TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


def unreachable_storage_client() -> httpx.Client:
    """The real context builder over a storage account nothing listens on (refused at once, no waiting)."""
    from scaling.api.backend import build_context

    settings = dataclasses.replace(Settings.from_env({"SCALING_STORAGE_CONNECTION": UNREACHABLE}), api_key=KEY)
    auth = AuthConfig(api_key=KEY, behind_functions_host=False, trust_principal_header=False)
    app = create_app(lambda: build_context(settings), settings, clock=lambda: NOW, auth=auth)
    return TestClient(app)


def test_ready_is_503_not_ready_when_table_storage_is_unreachable_at_a_cold_start():
    with unreachable_storage_client() as c:
        response = c.get("/ready")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "not ready"
    assert body["error"] == "unable to connect to Table Storage"
    assert body["checks"]["table-storage"].startswith("unreachable: connecting to Table Storage failed")
    assert body["time"].endswith("Z")
    assert SECRET not in response.text


@pytest.mark.parametrize(
    "path", ["/api/v1/projects", "/api/v1/deployments/project-a/sample-app-a/status", "/api/v1/audit", "/"]
)
def test_an_endpoint_is_503_table_storage_unavailable_when_storage_is_unreachable_at_a_cold_start(path):
    with unreachable_storage_client() as c:
        response = c.get(path, headers=AUTH)
    assert_error(response, 503, "Table Storage unavailable", "127.0.0.1")
    assert SECRET not in response.text
