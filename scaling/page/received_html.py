"""The status page's "received by the local receiver" section (local mode, pure): each message's channel,
headline and the links in it, so a newcomer sees heads-ups working without a real Teams or Slack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any


def received_section(messages: Sequence[Any]) -> str:
    """`messages`: scaling.notify.receiver.Received, oldest first; shown newest first."""
    if not messages:
        body = (
            '<p class="muted">Nothing yet. The sample projects send a heads-up here before they go down '
            "(<code>NotifyMinutes</code> ahead); <code>POST /api/v1/projects/&lt;name&gt;/notify-test</code> "
            "sends one now.</p>"
        )
    else:
        items = "".join(_item(m) for m in reversed(messages[-50:]))
        head = "<tr><th>time</th><th>channel</th><th>message</th><th>links</th></tr>"
        body = f'<table class="received"><thead>{head}</thead><tbody>{items}</tbody></table>'
    return f'<section id="received"><h2>Received by the local webhook receiver</h2>{body}</section>'


def _item(message: Any) -> str:
    try:
        body = json.loads(message.body)
    except ValueError:
        body = {}
    title, links = _read(body)
    channel = message.path.strip("/").split("/")[0] or "?"
    anchors = " ".join(
        f'<a class="received-link" data-action="{escape(action)}" href="{escape(url)}" target="_blank" rel="noopener">'
        f"{escape(label)}</a>"
        for label, action, url in links
    )
    return (
        f'<tr data-channel="{escape(channel)}" data-status="{message.status}"><td>{message.time:%H:%M:%S}Z</td>'
        f"<td>{escape(channel)}</td><td>{escape(title)}</td><td>{anchors}</td></tr>"
    )


def _read(body: Any) -> tuple[str, list[tuple[str, str, str]]]:
    """Headline and (label, action, url) of each link, from a generic, Slack or Teams message."""
    if not isinstance(body, dict):
        return "", []
    if "actions" in body and "title" in body:
        return str(body["title"]), [(a["label"], a["action"], a["url"]) for a in body["actions"]]
    if "blocks" in body:
        links = [
            (e["text"]["text"], e.get("action_id", "").split("-")[-1], e["url"])
            for b in body["blocks"]
            if b.get("type") == "actions"
            for e in b["elements"]
        ]
        return str(body.get("text", ""))[:200], links
    try:
        card = body["attachments"][0]["content"]
    except (KeyError, IndexError, TypeError):
        return "", []
    title = card["body"][0]["text"] if card.get("body") else ""
    return str(title), [(a["title"], "", a["url"]) for a in card.get("actions", [])]
