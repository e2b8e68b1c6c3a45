"""Projects that notify, and link settings, for the notify tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from scaling.model import ChannelKind, NotifyChannel, Project
from scaling.notify.content import LinkSettings
from scaling.notify.links import LinkKeys
from tests.fixtures.plan_builders import project

TEAMS = NotifyChannel(ChannelKind.TEAMS, "NOTIFY_TEAM")
SLACK = NotifyChannel(ChannelKind.SLACK, "NOTIFY_SLACK")
HOOK = NotifyChannel(ChannelKind.WEBHOOK, "NOTIFY_HOOK")
KEYS = LinkKeys(b"current-link-key-0123456789", b"previous-link-key-0123456789")
LINKS = LinkSettings(base_url="https://hours.example.com", keys=KEYS, grace=timedelta(hours=1))


def notifying(name: str = "project-a", *, minutes: int = 15, after: bool = False, **kwargs) -> Project:
    return replace(project(name, **kwargs), notify=(TEAMS, SLACK, HOOK), notify_minutes=minutes, notify_after=after)
