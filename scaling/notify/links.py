"""Signed links: HMAC-SHA256 over project, action, until, expiry and channel; two keys for rotation.

A link is a URL `<base>/link/<project>?p=<project>&a=<action>&u=<until>&e=<expiry>&c=<channel>&s=<signature>`
(times in Unix seconds). The signature covers every field, so a link changed in any part, used after its
expiry, or moved to another project's path is refused, each with its own reason. `LinkKeys` signs with the
current key and accepts the current and the previous one, so a key is rotated by moving it to
SCALING_LINK_KEY_PREVIOUS and setting a new SCALING_LINK_KEY; links signed with the old key keep working
until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from urllib.parse import quote, urlencode

from scaling.names import is_dns1123_label

MIN_KEY_BYTES = 16
CHANNEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:-")
MAX_CHANNEL = 120


class LinkAction(StrEnum):
    KEEP_1H = "keep-1h"
    KEEP_2H = "keep-2h"
    KEEP_UNTIL = "keep-until"
    DOWN_NOW = "down-now"
    WAKE = "wake"  # the duration is chosen on the page

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    LinkAction.KEEP_1H: "Keep up 1 h",
    LinkAction.KEEP_2H: "Keep up 2 h",
    LinkAction.KEEP_UNTIL: "Keep up until",
    LinkAction.DOWN_NOW: "Let it go now",
    LinkAction.WAKE: "Wake it up",
}


class LinkError(ValueError):
    """A link that is refused; `reason` is one of tampered, expired, other-project, malformed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class LinkKeys:
    """The signing key and the one before it (accepted, never used to sign)."""

    current: bytes
    previous: bytes | None = None

    @classmethod
    def from_settings(cls, current: str | None, previous: str | None = None) -> LinkKeys | None:
        """None when no key is configured (links are then left out of messages and pages)."""
        if not current:
            return None
        for name, value in (("SCALING_LINK_KEY", current), ("SCALING_LINK_KEY_PREVIOUS", previous)):
            if value is not None and len(value.encode()) < MIN_KEY_BYTES:
                raise ValueError(f"setting {name} is shorter than {MIN_KEY_BYTES} bytes; use a long random value")
        return cls(current.encode(), previous.encode() if previous else None)

    def sign(self, text: str) -> str:
        return _mac(self.current, text)

    def accepts(self, text: str, signature: str) -> bool:
        keys = [self.current] + ([self.previous] if self.previous else [])
        return any(hmac.compare_digest(_mac(key, text), signature) for key in keys)


@dataclass(frozen=True)
class Link:
    """What a link lets its holder do: `action` on `project` (until `until`), valid before `expires`."""

    project: str
    action: LinkAction
    expires: datetime
    channel: str
    until: datetime | None = None

    def signed_text(self) -> str:
        until = "" if self.until is None else str(_seconds(self.until))
        return "\n".join(
            ("aks-hours-link-v1", self.project, self.action.value, until, str(_seconds(self.expires)), self.channel)
        )

    def query(self, keys: LinkKeys) -> dict[str, str]:
        fields = {"p": self.project, "a": self.action.value, "e": str(_seconds(self.expires)), "c": self.channel}
        if self.until is not None:
            fields["u"] = str(_seconds(self.until))
        fields["s"] = keys.sign(self.signed_text())
        return fields

    def url(self, base: str, keys: LinkKeys) -> str:
        return f"{base.rstrip('/')}/link/{quote(self.project)}?{urlencode(self.query(keys))}"


def make_link(
    project: str, action: LinkAction, *, expires: datetime, channel: str, until: datetime | None = None
) -> Link:
    if not is_dns1123_label(project):
        raise ValueError(f"project {project!r} is not a DNS-1123 label")
    check_channel(channel)
    if (until is None) != (action is LinkAction.WAKE):
        raise ValueError(f"action {action.value}: until is {'not allowed' if until else 'required'}")
    return Link(project, action, _whole(expires), channel, None if until is None else _whole(until))


def check_channel(channel: str) -> str:
    if not channel or len(channel) > MAX_CHANNEL or not set(channel) <= CHANNEL_CHARS:
        raise LinkError("malformed", f"channel {channel[:40]!r} is not a channel name")
    return channel


def verify(project: str, query: Mapping[str, str], keys: LinkKeys, now: datetime) -> Link:
    """The link that `query` (from /link/<project>) carries; LinkError when it is refused."""
    try:
        action = LinkAction(query.get("a", ""))
    except ValueError:
        raise LinkError("malformed", "the link names no known action") from None
    expires = _time(query.get("e"), "expiry")
    until = _time(query.get("u"), "until") if query.get("u") else None
    channel = check_channel(query.get("c", ""))
    signature = query.get("s", "")
    named = query.get("p", project)
    if named != project:
        made_for = Link(named, action, expires, channel, until)
        if is_dns1123_label(named) and keys.accepts(made_for.signed_text(), signature):
            raise LinkError("other-project", f"this link was made for project {named}, not {project}")
        raise LinkError("tampered", "the link's signature does not match: it was changed or is not ours")
    link = Link(project, action, expires, channel, until)
    if not keys.accepts(link.signed_text(), signature):
        raise LinkError("tampered", "the link's signature does not match: it was changed or is not ours")
    if now >= expires:
        raise LinkError("expired", f"the link expired at {expires:%Y-%m-%d %H:%M} UTC")
    return link


def _mac(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _seconds(at: datetime) -> int:
    if at.tzinfo is None:
        raise ValueError("link times must be timezone-aware")
    return int(at.timestamp())


def _whole(at: datetime) -> datetime:
    return datetime.fromtimestamp(_seconds(at), UTC)


def _time(text: str | None, what: str) -> datetime:
    if not text or not text.isdigit() or len(text) > 11:
        raise LinkError("malformed", f"the link's {what} is missing or not a time")
    return datetime.fromtimestamp(int(text), UTC)
