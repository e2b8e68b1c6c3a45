"""Delivery against a real local HTTP receiver: bounded timeouts, retries with backoff on 429 and 5xx,
no retry on other answers, and errors that never carry the webhook URL."""

import pytest

from scaling.notify.deliver import Policy, mask, post, session
from scaling.notify.formats import Payload
from scaling.notify.receiver import Receiver

PAYLOAD = Payload(b'{"title":"project-a goes down at 18:00"}', {"Content-Type": "application/json"})
FAST = Policy(connect_timeout=1, read_timeout=0.3, attempts=3, backoff=0.01, max_wait=0.05)


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def test_a_message_is_posted_once(receiver):
    delivery = post(session(), receiver.url + "/hook/secret-path", PAYLOAD, policy=FAST)
    assert (delivery.ok, delivery.status, delivery.attempts) == (True, 200, 1)
    (got,) = receiver.messages()
    assert got.json()["title"] == "project-a goes down at 18:00"


@pytest.mark.parametrize("status", [429, 500, 503])
def test_throttling_and_server_errors_are_retried(receiver, status):
    receiver.fail_next(status, times=2)
    delivery = post(session(), receiver.url + "/hook", PAYLOAD, policy=FAST)
    assert (delivery.ok, delivery.attempts) == (True, 3)


def test_a_client_error_is_not_retried(receiver):
    receiver.fail_next(400)
    delivery = post(session(), receiver.url + "/hook", PAYLOAD, policy=FAST)
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, 400, 1)


def test_a_hanging_webhook_costs_the_read_timeout_per_attempt_and_then_fails(receiver):
    receiver.hang_next(5, times=3)
    delivery = post(session(), receiver.url + "/hook/secret-path", PAYLOAD, policy=FAST)
    assert (delivery.ok, delivery.status, delivery.attempts) == (False, None, 3)
    assert "no answer within 0.3 s" in delivery.error


def test_errors_never_carry_the_webhook_path(receiver):
    receiver.fail_next(500, times=3)
    delivery = post(session(), receiver.url + "/workflows/secret-token", PAYLOAD, policy=FAST)
    assert delivery.error and "secret-token" not in delivery.error
    assert mask("https://hooks.slack.com/services/T0/B0/XYZ") == "https://hooks.slack.com/***"
    assert mask("not a url") == "***"
