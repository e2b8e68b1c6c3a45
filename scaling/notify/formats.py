"""A `Message` in each channel's format, built with the libraries made for them and checked before sending:
Teams gets an Adaptive Card (adaptive-cards-py, validated for Teams: schema 1.5, size limit), Slack gets
Block Kit (slack-sdk's block models, each validated), the generic webhook gets JSON signed with
HMAC-SHA256 (`X-AKS-Hours-Signature: sha256=<hex>` over `<timestamp>.<body>`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Final

from adaptive_cards.card import ActionOpenUrl, AdaptiveCard, Fact, FactSet, TextBlock
from adaptive_cards.types import FontSize, FontWeight
from adaptive_cards.validation import CardValidatorFactory
from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from scaling.notify.content import Message

TEAMS_CARD_VERSION: Final = "1.5"  # what Teams renders (adaptive-cards-py's MicrosoftTeams target)
SIGNATURE_HEADER = "X-AKS-Hours-Signature"
TIMESTAMP_HEADER = "X-AKS-Hours-Timestamp"
DELIVERY_HEADER = "X-AKS-Hours-Delivery"
SLACK_TEXT_LIMIT = 3000  # a section's text (Block Kit)


class FormatError(ValueError):
    """A message that its channel's format refuses; says which check failed."""


@dataclass(frozen=True)
class Payload:
    body: bytes
    headers: dict[str, str]


def teams_card(message: Message) -> AdaptiveCard:
    """The Adaptive Card; FormatError when the Teams validator refuses it."""
    builder = AdaptiveCard.new().version(TEAMS_CARD_VERSION)
    builder.add_item(TextBlock(text=message.title, wrap=True, weight=FontWeight.BOLDER, size=FontSize.MEDIUM))
    builder.add_item(TextBlock(text=message.text, wrap=True))
    builder.add_item(FactSet(facts=[Fact(title=name, value=value) for name, value in message.facts]))
    if message.buttons:
        builder.add_actions([ActionOpenUrl(title=b.label, url=b.url) for b in message.buttons])
    card = builder.create()
    validator = CardValidatorFactory.create_validator_microsoft_teams()
    if validator.validate(card, debug=False).is_err():
        problems = "; ".join(f"{d.failure.value}: {d.message}" for d in validator.details())
        raise FormatError(f"the Teams card is not valid: {problems}")
    return card


def teams_payload(message: Message) -> Payload:
    """What a Teams Workflows webhook ("post to a channel when a webhook request is received") takes: a
    message with the card as its one attachment."""
    body = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": teams_card(message).to_dict(),
            }
        ],
    }
    return Payload(_json(body), {"Content-Type": "application/json"})


def slack_blocks(message: Message) -> list[Block]:
    """Block Kit blocks, each validated by slack-sdk (lengths, counts, required fields)."""
    facts = "\n".join(f"*{name}:* {_slack_escape(value)}" for name, value in message.facts)
    blocks: list[Block] = [
        HeaderBlock(text=message.title[:150]),
        SectionBlock(text=MarkdownTextObject(text=_slack_escape(message.text)[:SLACK_TEXT_LIMIT])),
        SectionBlock(text=MarkdownTextObject(text=facts[:SLACK_TEXT_LIMIT])),
    ]
    if message.buttons:
        blocks.append(
            ActionsBlock(
                elements=[
                    ButtonElement(text=b.label, url=b.url, action_id=f"aks-hours-{n}-{b.action}")
                    for n, b in enumerate(message.buttons)
                ]
            )
        )
    for block in blocks:
        try:
            block.validate_json()
        except Exception as error:  # slack-sdk raises SlackObjectFormationError
            raise FormatError(f"the Slack message is not valid: {error}") from error
    return blocks


def slack_payload(message: Message) -> Payload:
    body = {"text": message.fallback, "blocks": [b.to_dict() for b in slack_blocks(message)]}
    return Payload(_json(body), {"Content-Type": "application/json"})


def webhook_body(message: Message, delivery: str) -> dict[str, Any]:
    return {
        "type": f"aks-hours.{message.kind.value}",
        "delivery": delivery,
        "project": message.project,
        "transition": message.transition.isoformat().replace("+00:00", "Z"),
        "title": message.title,
        "text": message.text,
        "facts": [{"name": name, "value": value} for name, value in message.facts],
        "actions": [{"label": b.label, "action": b.action, "url": b.url} for b in message.buttons],
        "wake_url": message.wake_url,
    }


def webhook_payload(message: Message, *, key: bytes, delivery: str, timestamp: int) -> Payload:
    body = _json(webhook_body(message, delivery))
    return Payload(
        body,
        {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign_body(key, timestamp, body),
            TIMESTAMP_HEADER: str(timestamp),
            DELIVERY_HEADER: delivery,
        },
    )


def sign_body(key: bytes, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` (the timestamp lets receivers refuse replays)."""
    return "sha256=" + hmac.new(key, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def check_signature(key: bytes, timestamp: str, body: bytes, signature: str) -> bool:
    """How a receiver checks a generic webhook (tests and the local receiver do exactly this)."""
    if not timestamp.isdigit():
        return False
    return hmac.compare_digest(sign_body(key, int(timestamp), body), signature)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
