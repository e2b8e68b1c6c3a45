"""Signed links: every field is covered, two keys are accepted, expiry and project are enforced."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest

from scaling.notify.links import LinkAction, LinkError, LinkKeys, make_link, verify
from tests.notify.builders import KEYS

NOW = datetime(2026, 11, 24, 16, 50, tzinfo=UTC)
LINK = make_link(
    "project-a",
    LinkAction.KEEP_1H,
    until=NOW + timedelta(hours=1),
    expires=NOW + timedelta(hours=1),
    channel="teams:NOTIFY_A",
)


def query(link=LINK, keys=KEYS):
    return dict(parse_qsl(urlsplit(link.url("https://h", keys)).query))


def test_a_signed_link_verifies_for_its_project():
    assert verify("project-a", query(), KEYS, NOW) == LINK


@pytest.mark.parametrize("field", ["a", "u", "e", "c", "s"])
def test_a_link_changed_in_any_field_is_tampered(field):
    changed = query()
    changed[field] = {"a": "keep-2h", "u": "1900000000", "e": "1900000000", "c": "slack:NOTIFY_A", "s": "x" * 43}[field]
    with pytest.raises(LinkError) as refused:
        verify("project-a", changed, KEYS, NOW)
    assert refused.value.reason in ("tampered", "malformed")


def test_a_link_for_another_project_says_so():
    with pytest.raises(LinkError) as refused:
        verify("project-b", query(), KEYS, NOW)
    assert refused.value.reason == "other-project"


def test_a_link_moved_to_another_projects_path_and_name_is_tampered():
    moved = query() | {"p": "project-b"}
    with pytest.raises(LinkError) as refused:
        verify("project-b", moved, KEYS, NOW)
    assert refused.value.reason == "tampered"


def test_an_expired_link_is_refused():
    with pytest.raises(LinkError) as refused:
        verify("project-a", query(), KEYS, NOW + timedelta(hours=1))
    assert refused.value.reason == "expired"


def test_links_signed_with_the_previous_key_work_during_rotation():
    old = LinkKeys(KEYS.previous)
    assert verify("project-a", query(keys=old), KEYS, NOW) == LINK
    assert pytest.raises(LinkError, verify, "project-a", query(keys=old), LinkKeys(b"a-brand-new-key-0123456"), NOW)


def test_short_keys_are_refused_with_the_setting_named():
    with pytest.raises(ValueError, match="SCALING_LINK_KEY is shorter"):
        LinkKeys.from_settings("short")
