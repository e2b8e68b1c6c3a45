"""The notify step over real parts (Azurite, the AKS emulator, a local receiver): heads-ups at lead time,
exactly once per transition and channel across ticks and instances, every delivery audited, and no
webhook URL anywhere it could leak."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from scaling import notifying
from scaling.notify.deliver import Policy
from scaling.notify.formats import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_signature
from scaling.notify.receiver import Receiver
from scaling.storage.rows import row_to_project
from scaling.triggers import run_timer

pytestmark = pytest.mark.integration

# project-a: Berlin Mon-Fri 08:00-19:00, so Tuesday 2026-11-24 goes down at 18:00Z.
DOWN = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
FAST = Policy(connect_timeout=1, read_timeout=0.3, attempts=3, backoff=0.01, max_wait=0.05)
HOOK_KEY = "hook-signing-key-0123"


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture
def notifying_world(world, receiver):
    row = dict(world.context.projects.read()["project-a"].columns)
    row.update(Notify="teams:NOTIFY_T, slack:NOTIFY_S, webhook:NOTIFY_W", NotifyMinutes=15)
    world.context.projects.upsert([row_to_project("project-a", row)])
    world.context.settings = dataclasses.replace(
        world.settings, link_key="link-key-0123456789abcdef", public_url="https://hours.example.com"
    )
    secrets = {
        "NOTIFY_T": receiver.url + "/teams/secret-t",
        "NOTIFY_S": receiver.url + "/slack/secret-s",
        "NOTIFY_W": receiver.url + "/hook/secret-w",
        "NOTIFY_W_KEY": HOOK_KEY,
    }
    notifying.configure(world.context, secrets=secrets, policy=FAST, owner="test-a")
    return world


def test_nothing_is_sent_before_lead_time(notifying_world, receiver):
    report = notifying.notify_tick(notifying_world.context, DOWN - timedelta(minutes=16))
    assert (report.due, report.sent) == (0, ())
    assert receiver.messages() == []


def test_at_lead_time_each_channel_gets_the_heads_up_once_across_ticks(notifying_world, receiver):
    context = notifying_world.context
    first = notifying.notify_tick(context, DOWN - timedelta(minutes=14))
    again = notifying.notify_tick(context, DOWN - timedelta(minutes=9))
    assert (first.due, len(first.sent), first.failures) == (1, 3, 0)
    assert (again.due, again.sent, again.skipped) == (1, (), 3)
    paths = sorted(m.path for m in receiver.messages())
    assert paths == ["/hook/secret-w", "/slack/secret-s", "/teams/secret-t"]


def test_two_instances_at_once_send_each_channel_once(notifying_world, receiver):
    context = notifying_world.context
    other = dataclasses.replace(context)
    secrets = notifying.notifier_of(context).secrets
    notifying.configure(other, secrets=secrets, policy=FAST, owner="test-b")
    now = DOWN - timedelta(minutes=10)
    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(lambda c: notifying.notify_tick(c, now), [context, other]))
    assert sum(len(r.sent) for r in reports) == 3
    assert len(receiver.messages()) == 3


def test_the_generic_webhook_is_signed_and_names_its_delivery(notifying_world, receiver):
    notifying.notify_tick(notifying_world.context, DOWN - timedelta(minutes=10))
    (hook,) = receiver.messages("/hook/secret-w")
    assert check_signature(HOOK_KEY.encode(), hook.headers[TIMESTAMP_HEADER], hook.body, hook.headers[SIGNATURE_HEADER])
    body = hook.json()
    assert body["delivery"] == "project-a/heads-up-20261124T1800Z/webhook:NOTIFY_W"
    assert [a["action"] for a in body["actions"]][:2] == ["keep-1h", "keep-2h"]
    assert body["actions"][0]["url"].startswith("https://hours.example.com/link/project-a?")


def test_a_failing_channel_is_audited_and_the_others_still_go(notifying_world, receiver):
    receiver.fail_next(500, times=3)  # whichever channel posts first gets all three 500s... or shares them
    report = notifying.notify_tick(notifying_world.context, DOWN - timedelta(minutes=10))
    rows = [r for r in notifying_world.audit_rows("project-a") if r.action == "notify-heads-up"]
    assert len(rows) == 3
    assert sum(r.result.value == "failed" for r in rows) == report.failures
    for row in rows:
        assert "secret" not in json.dumps(dataclasses.asdict(row), default=str)


def test_a_missing_setting_is_a_failed_delivery_that_says_which(notifying_world, receiver):
    notifier = notifying.notifier_of(notifying_world.context)
    notifying.configure(
        notifying_world.context,
        secrets={k: v for k, v in notifier.secrets.items() if k != "NOTIFY_S"},
        policy=FAST,
    )
    report = notifying.notify_tick(notifying_world.context, DOWN - timedelta(minutes=10))
    (failed,) = [s for s in report.sent if not s.delivery.ok]
    assert failed.channel == "slack:NOTIFY_S"
    assert "app setting NOTIFY_S is not set" in failed.delivery.error


def test_the_timer_sends_heads_ups_after_the_ticks_writes(notifying_world, receiver):
    run_timer(notifying_world.context, DOWN - timedelta(minutes=10))
    assert len(receiver.wait_for(3)) == 3
