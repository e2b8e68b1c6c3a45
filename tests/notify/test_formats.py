"""Every format is checked by what it is made for: Teams cards against the Adaptive Card 1.5 schema that
Teams supports, Slack messages by slack-sdk's block models, webhooks by their HMAC signature."""

import json
from datetime import UTC, datetime
from pathlib import Path

import adaptive_cards
from jsonschema import Draft6Validator
from slack_sdk.models.blocks import Block

from scaling.notify.content import build_message
from scaling.notify.formats import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    check_signature,
    slack_payload,
    teams_payload,
    webhook_payload,
)
from scaling.notify.headsup import Due, MessageKind, PoolLine, Summary
from tests.notify.builders import LINKS, notifying

DOWN = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
SUMMARY = Summary(workloads=3, pools=(PoolLine("gpu", "Standard_NC4as_T4_v3", 2, True, 0.526),))
SCHEMA = json.loads((Path(adaptive_cards.__file__).parent / "schemas" / "schema-1.5.json").read_text())


def heads_up(kind=MessageKind.HEADS_UP, links=LINKS):
    due = Due(notifying(), kind, DOWN)
    return build_message(due, SUMMARY, channel="teams:NOTIFY_TEAM", links=links, currency="USD")


def test_the_heads_up_says_what_when_what_it_saves_and_what_you_can_do():
    message = heads_up()
    assert message.title == "project-a goes down at 18:00"
    facts = dict(message.facts)
    assert facts["Workloads"] == "3" and facts["GPU pools"] == "gpu"
    assert facts["Saves"] == "1.05 USD per hour"
    labels = [b.label for b in message.buttons]
    assert labels == ["Keep up 1 h", "Keep up 2 h", "Keep up until 22:00", "Let it go now", "Wake it up tonight"]


def test_without_link_keys_the_message_has_no_buttons():
    assert heads_up(links=None).buttons == ()


def test_the_teams_card_follows_the_adaptive_card_schema_teams_supports():
    for kind in MessageKind:
        body = json.loads(teams_payload(heads_up(kind)).body)
        card = body["attachments"][0]["content"]
        assert card["version"] == "1.5"
        errors = sorted(Draft6Validator(SCHEMA).iter_errors(card), key=str)
        assert not errors, errors[:3]
        assert [a["type"] for a in card.get("actions", [])] == ["Action.OpenUrl"] * len(heads_up(kind).buttons)


def test_the_slack_message_passes_the_sdks_block_models():
    body = json.loads(slack_payload(heads_up()).body)
    assert body["text"].startswith("project-a goes down at 18:00")
    for raw in body["blocks"]:
        Block.parse(raw).validate_json()
    buttons = body["blocks"][-1]["elements"]
    assert [b["text"]["text"] for b in buttons][:2] == ["Keep up 1 h", "Keep up 2 h"]


def test_the_generic_webhook_is_signed_over_timestamp_and_body():
    payload = webhook_payload(heads_up(), key=b"hook-key", delivery="project-a/x/webhook:NOTIFY_HOOK", timestamp=1)
    headers = payload.headers
    assert check_signature(b"hook-key", headers[TIMESTAMP_HEADER], payload.body, headers[SIGNATURE_HEADER])
    assert not check_signature(b"other-key", headers[TIMESTAMP_HEADER], payload.body, headers[SIGNATURE_HEADER])
    assert not check_signature(b"hook-key", "2", payload.body, headers[SIGNATURE_HEADER])
    body = json.loads(payload.body)
    assert (body["type"], body["delivery"]) == ("aks-hours.heads-up", headers[DELIVERY_HEADER])


def test_the_after_note_tells_what_it_saves_until_morning():
    message = heads_up(MessageKind.AFTER)
    assert message.title == "project-a went down at 18:00"
    assert "until it comes back at Wed 09:00" in message.text
    assert [b.action for b in message.buttons] == ["wake"]
    assert message.wake_url and message.wake_url.startswith("https://hours.example.com/link/project-a?")
