"""The status page (`GET /`) and the report route, served by the real app over an in-memory backend."""

import html
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from scaling.override import Override, OverrideAction
from scaling.page.routes import state_since, tick_errors
from scaling.plan.actions import Result
from scaling.storage.audit import AuditRow
from tests.fixtures.plan_builders import CLUSTER, project
from tests.fixtures.status_fakes import KEY, fixed_clock, make_app, sample_backend

UTC = UTC
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday: 13:00 in Berlin (open), 21:00 in Tokyo (closed)
AUTH = {"X-API-Key": KEY}


@pytest.fixture
def backend():
    return sample_backend()


@pytest.fixture
def client(backend):
    return TestClient(make_app(backend, fixed_clock(NOW)))


def page(client, **params):
    response = client.get("/", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.text


def svg_of(html):
    return ET.fromstring(re.search(r"<svg .*?</svg>", html, re.S).group(0))


def bars(svg, name):
    ns = "{http://www.w3.org/2000/svg}"
    row = next(g for g in svg.iter(f"{ns}g") if g.get("data-project") == name)
    return [e for e in row.iter(f"{ns}rect") if e.get("class") == "bar"]


def test_without_a_key_the_page_is_a_key_form_and_shows_no_data(client):
    response = client.get("/")
    assert response.status_code == 401
    assert 'id="key-form"' in response.text and "project-a" not in response.text


def test_a_wrong_key_gets_the_key_form_too(client):
    response = client.get("/", headers={"X-API-Key": "nope"})
    assert response.status_code == 401 and 'id="key-form"' in response.text


def test_the_fragment_without_a_key_is_a_json_401(client):
    response = client.get("/", params={"fragment": 1})
    assert response.status_code == 401 and response.json()["error"] == "Authorization header required"


def test_the_fragments_401_is_the_standard_error_body_with_a_timestamp(client):
    body = client.get("/", params={"fragment": 1}).json()
    assert set(body) == {"status", "message", "error", "timestamp"}
    assert body["status"] == "error" and body["timestamp"].endswith("Z")


def test_every_project_shows_its_state_now_and_since_when(client):
    html = page(client)
    assert re.search(r'data-project="project-a" data-state="up".*?since Wed 25 Nov 08:00 CET', html, re.S)
    assert re.search(r'data-project="project-b" data-state="down".*?since Wed 25 Nov 19:00 JST', html, re.S)


def test_the_next_change_is_in_the_projects_local_time(client):
    html = page(client)
    assert "Wed 25 Nov 19:00 CET → <b>down</b>" in html
    assert "Thu 26 Nov 09:00 JST → <b>up</b>" in html


def test_node_pools_show_node_count_and_power_state(client):
    html = page(client)
    assert "<b>projecta</b> 2 nodes · Running · autoscale" in html
    assert '<b>gpu</b> 0 nodes · Running <span class="muted">(was 1)</span>' in html


def test_rows_that_did_not_load_are_listed(client):
    assert "project 'project-c', column TimeZone: unknown time zone 'Mars/Base'" in html.unescape(page(client))


def test_the_timeline_has_one_bar_per_business_day_of_the_known_week(client):
    svg = svg_of(page(client, week="2026-11-25"))
    assert len(bars(svg, "project-a")) == 5
    assert len(bars(svg, "project-b")) == 4  # Monday 23 November is Labour Thanksgiving Day in Japan


def test_the_week_parameter_picks_that_weeks_monday(client):
    assert svg_of(page(client, week="2026-12-03")).get("data-start-date") == "2026-11-30"


def test_a_display_zone_draws_the_timeline_in_it(client):
    assert svg_of(page(client, zone="UTC")).get("data-zone") == "UTC"


@pytest.mark.parametrize(
    "params, message",
    [
        ({"week": "next"}, "week 'next'"),
        ({"zone": "Mars/Base"}, "zone"),
        ({"week": "0001-01-01"}, "query parameter week 0001-01-01: the year must be within 1970-9000"),
        ({"week": "9999-12-31"}, "query parameter week 9999-12-31: the year must be within 1970-9000"),
    ],
    ids=["word", "zone", "year-1", "year-9999"],
)
def test_bad_page_parameters_are_a_400(client, params, message):
    response = client.get("/", params=params, headers=AUTH)
    assert response.status_code == 400 and message in response.json()["error"]


@pytest.mark.parametrize("week", ["1970-01-01", "9000-12-31"])
def test_the_first_and_last_years_allowed_still_draw_a_week(client, week):
    assert svg_of(page(client, week=week)).get("data-start-date") is not None


def test_an_active_override_is_shown_and_drawn(client, backend):
    backend.overrides_.append(
        Override(
            "project-b",
            OverrideAction.UP,
            NOW + timedelta(hours=3),
            "demo for the board",
            "alice",
            NOW - timedelta(hours=1),
        )
    )
    html = page(client)
    assert re.search(
        r'data-project="project-b" data-state="override".*?overriding: up.*?alice: demo for the board', html, re.S
    )
    ns = "{http://www.w3.org/2000/svg}"
    drawn = [
        e
        for e in svg_of(html).iter(f"{ns}rect")
        if "override-up" in (e.get("class") or "") and e.get("data-project") == "project-b"
    ]
    assert len(drawn) == 1


def test_unsettled_failures_from_the_audit_are_shown_per_project(client, backend):
    backend.audit_rows += [
        AuditRow(
            NOW - timedelta(minutes=5),
            "project-b",
            "nodepool/gpu",
            "scale-up",
            Result.FAILED,
            error="quota exceeded for Standard_NC4as_T4_v3",
        ),
        AuditRow(NOW - timedelta(minutes=30), "project-a", "nodepool/projecta", "scale-up", Result.FAILED, error="old"),
        AuditRow(NOW - timedelta(minutes=20), "project-a", "nodepool/projecta", "scale-up", Result.OK),
    ]
    html = page(client)
    assert "nodepool/gpu: failed (quota exceeded for Standard_NC4as_T4_v3)" in html
    assert "(old)" not in html.split('id="audit"')[0]


def test_recent_audit_rows_are_listed_with_filters(client, backend):
    backend.audit_rows.append(
        AuditRow(
            NOW - timedelta(hours=2),
            "project-a",
            "deployment/project-a/sample-app-a",
            "scale-up",
            Result.OK,
            from_="0",
            to="2",
        )
    )
    html = page(client)
    assert '<tr data-project="project-a" data-result="ok">' in html and "0 → 2" in html
    assert 'id="audit-project"' in html and 'id="audit-result"' in html


def test_text_from_tables_is_escaped(client, backend):
    backend.overrides_.append(
        Override(
            "project-a", OverrideAction.DOWN, NOW + timedelta(hours=1), "<script>alert(1)</script>", "mallory", NOW
        )
    )
    html = page(client)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_page_loads_nothing_from_outside_and_runs_only_its_own_script(client):
    response = client.get("/", headers=AUTH)
    nonce = re.search(r"script-src 'nonce-([^']+)'", response.headers["content-security-policy"]).group(1)
    assert f'<script nonce="{nonce}">' in response.text
    assert response.headers["cache-control"] == "no-store"
    assert set(re.findall(r"https?://[^\s\"'<>]+", response.text)) == {"http://www.w3.org/2000/svg"}
    assert not re.search(r"<(link|img|iframe)\b|src=", response.text)


def test_table_storage_down_is_a_banner_not_an_error(client, backend):
    backend.storage_down = True
    html = page(client)
    assert "Table Storage unavailable" in html and "not reachable" in html


LEAKY = "connection refused; AccountKey=c2VjcmV0LWtleQ==;SharedAccessSignature=sig123"


class LeakyBackend:
    """Wraps the sample backend so that one read fails with an error quoting its connection string."""

    def __init__(self, backend, failing: str) -> None:
        self._backend, self._failing = backend, failing

    def __getattr__(self, name):
        if name == self._failing:

            def fail(*args, **kwargs):
                raise ConnectionError(LEAKY)

            return fail
        return getattr(self._backend, name)


@pytest.mark.parametrize("failing", ["load_projects", "overrides", "audit"])
def test_a_dependency_error_on_the_page_has_its_secrets_removed(backend, failing):
    app = make_app(LeakyBackend(backend, failing), fixed_clock(NOW))
    html = TestClient(app).get("/", headers=AUTH).text
    assert "connection refused" in html
    assert "c2VjcmV0LWtleQ" not in html and "sig123" not in html


def test_the_reports_503_has_the_dependency_secrets_removed(backend):
    app = make_app(LeakyBackend(backend, "audit"), fixed_clock(NOW))
    response = TestClient(app).get("/api/v1/report", params={"month": "2026-11"}, headers=AUTH)
    assert response.status_code == 503 and "connection refused" in response.text
    assert "c2VjcmV0LWtleQ" not in response.text and "sig123" not in response.text


def test_an_override_from_the_api_appears_on_the_page(client, backend):
    response = client.post(
        "/api/v1/projects/project-a/override", headers=AUTH, json={"action": "down", "reason": "maintenance window"}
    )
    assert response.status_code == 200, response.text
    html = page(client, fragment=1)
    assert re.search(r'data-project="project-a" data-state="override".*?overriding: down', html, re.S)
    assert 'data-result="ok"' in html and "override-set" in html


def test_state_since_is_the_overrides_creation_when_one_is_active():
    created = NOW - timedelta(minutes=7)
    override = Override("project-a", OverrideAction.UP, NOW + timedelta(hours=1), "r", "a", created)
    assert state_since(project("project-a"), [override], NOW) == created


def test_state_since_is_none_for_a_schedule_that_never_changes():
    assert state_since(project("always", uptime="always"), [], NOW) is None


def test_tick_errors_skip_failures_that_later_succeeded():
    rows = [
        AuditRow(NOW, "p", "nodepool/x", "scale-up", Result.OK),
        AuditRow(NOW - timedelta(minutes=5), "p", "nodepool/x", "scale-up", Result.BUSY),
    ]
    assert tick_errors(rows, "p") == []


# -- GET /api/v1/report -------------------------------------------------------------------------------


def night_rows():
    from scaling.plan.actions import Direction, Outcome, PoolChange, Why
    from scaling.plan.observed import PoolSize
    from scaling.storage.audit import row_for

    one, zero = PoolSize(1, True, 0, 2), PoolSize(0, False, None, None)
    down = PoolChange(CLUSTER, "gpu", one, zero, {}, Direction.DOWN, Why("project-b"))
    up = PoolChange(CLUSTER, "gpu", zero, one, {}, Direction.UP, Why("project-b"))
    return [
        row_for(Outcome(down, Result.OK), time=datetime(2026, 11, 20, 10, 0, tzinfo=UTC), tick="a", sequence=0),
        row_for(Outcome(up, Result.OK), time=datetime(2026, 11, 23, 23, 40, tzinfo=UTC), tick="b", sequence=0),
    ]


def test_the_report_route_prices_node_hours_from_the_audit(client, backend):
    backend.audit_rows += night_rows()
    response = client.get("/api/v1/report", params={"month": "2026-11"}, headers=AUTH)
    assert response.status_code == 200, response.text
    (pool,) = response.json()["report"]["pools"]
    assert (pool["pool"], pool["vm_size"], pool["node_hours"]) == ("gpu", "Standard_NC4as_T4_v3", 85.67)
    assert pool["cost"] == pytest.approx(85.67 * 0.526, abs=0.01)


def test_the_report_route_prices_pools_listed_although_the_workloads_read_failed(client, backend):
    backend.audit_rows += night_rows()
    backend.look_errors[CLUSTER] = "run-command read: no result after 240s"
    body = client.get("/api/v1/report", params={"month": "2026-11"}, headers=AUTH).json()
    (pool,) = body["report"]["pools"]
    assert pool["vm_size"] == "Standard_NC4as_T4_v3" and not any("not counted" in n for n in body["report"]["notes"])


def test_the_report_route_answers_csv(client, backend):
    backend.audit_rows += night_rows()
    response = client.get("/api/v1/report", params={"month": "2026-11", "format": "csv"}, headers=AUTH)
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[0].startswith("project,cluster,pool,vm_size")


def test_the_report_route_needs_the_key(client):
    assert client.get("/api/v1/report", params={"month": "2026-11"}).status_code == 401


def test_the_report_route_rejects_a_bad_month(client):
    response = client.get("/api/v1/report", params={"month": "2026-1"}, headers=AUTH)
    assert response.status_code == 400 and "expected YYYY-MM" in response.json()["error"]


def test_a_moment_ago_or_ahead_reads_just_now_not_in_0_min():
    from scaling.page.html import _relative

    now = datetime(2026, 11, 24, 15, 57, 30, tzinfo=UTC)
    assert _relative(now + timedelta(seconds=20), now) == "just now"
    assert _relative(now - timedelta(seconds=59), now) == "just now"
    assert _relative(now + timedelta(minutes=5), now) == "in 5 min"
