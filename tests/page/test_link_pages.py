"""Signed links over the real app (Azurite, the AKS emulator): a GET shows what would happen and changes
nothing; the POST applies it as an override by `link:<channel>`; a tampered, expired or other-project link
gets a clear page and changes nothing; the wake page follows the wake-up to Ready."""

from __future__ import annotations

import dataclasses
import time
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from scaling import notifying
from scaling.api.auth import AuthConfig
from scaling.notify.links import LinkAction, LinkKeys, make_link
from scaling.notify.receiver import Receiver
from scaling.page.app import create_app
from scaling.storage.rows import row_to_project
from tests.fixtures.api_world import AUTH, KEY, NOW

pytestmark = pytest.mark.integration

LINK_KEY = "link-key-0123456789abcdef"
KEYS = LinkKeys(LINK_KEY.encode())
DOWN = NOW.replace(hour=18)  # project-a goes down at 19:00 Berlin


@pytest.fixture
def app(world):
    settings = dataclasses.replace(world.settings, link_key=LINK_KEY, public_url="http://testserver")
    auth = AuthConfig(api_key=KEY, behind_functions_host=False, trust_principal_header=False)
    world.clock.now = DOWN - timedelta(minutes=10)
    with TestClient(create_app(lambda: world.context, settings, clock=world.clock, auth=auth)) as client:
        yield client, world


def path_of(link, keys=KEYS) -> str:
    parts = urlsplit(link.url("http://testserver", keys))
    return f"{parts.path}?{parts.query}"


def keep_1h(project="project-a", **changes):
    fields = dict(until=DOWN + timedelta(hours=1), expires=DOWN + timedelta(hours=1), channel="teams:NOTIFY_T")
    fields.update(changes)
    return make_link(project, LinkAction.KEEP_1H, **fields)


def override_of(client, project="project-a"):
    return client.get(f"/api/v1/projects/{project}", headers=AUTH).json()["project"]["override"]


def test_a_get_shows_what_until_when_and_the_cost_and_changes_nothing(app):
    client, world = app
    page = client.get(path_of(keep_1h()))
    assert page.status_code == 200
    assert "Keep project-a up until 20:00" in page.text and "What it costs" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    client.head(path_of(keep_1h()))
    assert override_of(client) is None
    assert not [r for r in world.audit_rows("project-a") if r.action.startswith("override")]


def test_the_post_applies_an_override_by_the_links_channel(app):
    client, world = app
    done = client.post(path_of(keep_1h()))
    assert done.status_code == 200, done.text
    assert 'id="done"' in done.text
    override = override_of(client)
    assert (override["action"], override["actor"]) == ("up", "link:teams:NOTIFY_T")
    assert override["until"].startswith("2026-11-24T19:00")
    assert any(r.action == "override-set" and r.actor == "link:teams:NOTIFY_T" for r in world.audit_rows("project-a"))


def test_let_it_go_now_holds_the_project_down(app):
    client, _ = app
    link = make_link(
        "project-a",
        LinkAction.DOWN_NOW,
        until=DOWN + timedelta(hours=14),
        expires=DOWN + timedelta(hours=1),
        channel="slack:NOTIFY_S",
    )
    assert client.post(path_of(link)).status_code == 200
    assert override_of(client)["action"] == "down"


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        (lambda: path_of(keep_1h()).replace("keep-1h", "keep-2h"), 403, "tampered"),
        (lambda: path_of(keep_1h(expires=NOW)), 410, "expired"),
        (lambda: path_of(keep_1h("project-b")).replace("/link/project-b?", "/link/project-a?"), 403, "other-project"),
        (lambda: path_of(keep_1h(), LinkKeys(b"somebody-elses-key-0123")), 403, "tampered"),
    ],
    ids=["tampered", "expired", "other-project", "foreign-key"],
)
def test_a_refused_link_gets_a_clear_page_and_changes_nothing(app, path, status, reason):
    client, _ = app
    for method in ("GET", "POST"):
        page = client.request(method, path())
        assert page.status_code == status
        assert f'data-reason="{reason}"' in page.text and "Nothing was changed" in page.text
    assert override_of(client) is None


def test_the_wake_link_asks_how_long_then_follows_the_wake_up_to_ready(app):
    client, world = app
    world.clock.now = DOWN + timedelta(hours=3)  # 22:00 Berlin: down
    world.tick()
    wake = make_link("project-a", LinkAction.WAKE, expires=DOWN + timedelta(hours=12), channel="page")
    choice = client.get(path_of(wake))
    assert 'name="hours"' in choice.text and override_of(client) is None
    started = client.post(path_of(wake), data={"hours": "2"}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"].startswith("/link/project-a/wake?")
    assert override_of(client)["actor"] == "link:page"
    assert "Waking project-a" in client.get(started.headers["location"]).text
    progress_url = started.headers["location"].replace("/wake?", "/progress?")
    first = client.get(progress_url).json()
    assert first["stage"] in ("pools starting", "nodes ready", "workloads ready", "ready")
    assert first["eta"] and first["detail"]
    for _ in range(120):  # the emulator brings the pool's nodes and the pods up in its own (short) time
        world.clock.advance(seconds=30)
        state = client.get(progress_url).json()
        if state["stage"] == "ready":
            break
        time.sleep(0.25)
    assert state["stage"] == "ready", state
    assert world.context.notifications.wake_seconds("project-a")


def test_a_wake_with_an_unoffered_duration_is_refused(app):
    client, _ = app
    wake = make_link("project-a", LinkAction.WAKE, expires=DOWN + timedelta(hours=12), channel="page")
    assert client.post(path_of(wake), data={"hours": "72"}).status_code == 400
    assert override_of(client) is None


def test_the_status_page_offers_each_project_a_signed_wake_link_and_in_local_mode_what_was_received(app):
    client, world = app
    client.app.state.local_receiver = Receiver().start()
    try:
        page = client.get("/?fragment=1", headers=AUTH)
        assert page.status_code == 200
        assert page.text.count('class="wake" href="http://testserver/link/') == 4
        assert "Received by the local webhook receiver" in page.text
    finally:
        client.app.state.local_receiver.stop()


def test_notify_test_sends_the_heads_up_to_every_channel_now(app):
    client, world = app
    with Receiver() as receiver:
        secrets = {"NOTIFY_T": receiver.url + "/teams", "NOTIFY_W": receiver.url + "/webhook", "NOTIFY_W_KEY": "k" * 16}
        notifying.configure(world.context, secrets=secrets)
        row = dict(world.context.projects.read()["project-a"].columns)
        row["Notify"] = "teams:NOTIFY_T, webhook:NOTIFY_W, slack:NOTIFY_UNSET"
        world.context.projects.upsert([row_to_project("project-a", row)])
        answer = client.post("/api/v1/projects/project-a/notify-test", headers=AUTH)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["message"] == "Heads-up for project-a sent to 2 of 3 channels"
        assert [d["ok"] for d in body["deliveries"]] == [True, True, False]
        assert receiver.url not in answer.text
        assert len(receiver.messages()) == 2
        page = client.get("/?fragment=1", headers=AUTH)
        assert "wake link" in page.text
