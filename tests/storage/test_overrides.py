"""Overrides: validation of new ones, and the `Overrides` table against a real Azurite."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.model import WorkloadKind, WorkloadRef
from scaling.override import Override, OverrideAction, OverrideError, new_override, parse_target, target_key
from scaling.storage.overrides import OverrideStore, to_entity
from scaling.storage.tables import ensure_tables, table_service
from tests.fixtures.plan_builders import project

UTC = UTC
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday; business hours end 18:00 Berlin
WEB = WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "web")


def make(**kwargs) -> Override:
    args = dict(reason="customer demo", actor="alice@example.com", now=MONDAY_NOON, max_hours=72)
    return new_override(project(), kwargs.pop("action", "down"), **(args | kwargs))


# -- validation ---------------------------------------------------------------------------------------


def test_until_defaults_to_the_next_schedule_change():
    assert make().until == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 18:00 Berlin


def test_the_default_until_is_capped_at_the_maximum_hours():
    assert make(max_hours=2).until == datetime(2026, 11, 30, 13, 0, tzinfo=UTC)


def test_a_schedule_that_never_changes_gets_the_maximum_hours():
    o = new_override(project(uptime="always"), "down", reason="r", actor="a", now=MONDAY_NOON, max_hours=5)
    assert o.until == MONDAY_NOON.astimezone(UTC) + timedelta(hours=5)


def test_until_is_stored_in_utc():
    o = make(until=datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN))
    assert o.until == datetime(2026, 11, 30, 21, 0, tzinfo=UTC) and o.until.tzinfo is UTC


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"reason": "  "}, "reason is required", id="empty-reason"),
        pytest.param({"reason": "x" * 501}, "at most 500", id="long-reason"),
        pytest.param({"reason": "two\nlines"}, "control characters", id="newline-in-reason"),
        pytest.param(
            {"reason": "a\u200bb"},
            "reason contains invisible .*U\\+200B ZERO WIDTH SPACE at position 2",
            id="zero-width-space-in-reason",
        ),
        pytest.param({"reason": "\u2800"}, "reason has no visible character", id="blank-reason"),
        pytest.param({"actor": "ali\x85ce"}, "actor contains control characters .*U\\+0085", id="c1-in-actor"),
        pytest.param({"actor": "alice\u2028admin"}, "actor contains invisible or line-breaking", id="line-sep-actor"),
        pytest.param({"actor": ""}, "actor is required", id="no-actor"),
        pytest.param({"action": "sideways"}, "not one of up, down, replicas", id="bad-action"),
        pytest.param({"until": datetime(2026, 11, 30, 10, 0, tzinfo=UTC)}, "not in the future", id="past-until"),
        pytest.param({"until": datetime(2026, 12, 4, 12, 0, tzinfo=UTC)}, "more than 72 hours", id="far-until"),
        pytest.param({"until": datetime(2026, 12, 1, 12, 0)}, "no time zone", id="naive-until"),
        pytest.param({"action": "replicas", "replicas": 2}, "needs a target", id="replicas-without-target"),
        pytest.param({"action": "replicas", "target": WEB, "replicas": 51}, "from 0 to 50", id="too-many"),
        pytest.param({"action": "replicas", "target": WEB}, "from 0 to 50", id="no-count"),
        pytest.param({"action": "up", "replicas": 2}, "only allowed with action replicas", id="count-with-up"),
        pytest.param({"target": "deployment/other-ns/web"}, "not a workload of project", id="foreign-target"),
        pytest.param({"target": "pod/project-a/web"}, "not deployment or statefulset", id="bad-kind"),
        pytest.param({"target": "deployment/project-a/Web_1"}, "DNS-1123", id="bad-name"),
    ],
)
def test_bad_overrides_are_refused_saying_what_is_wrong(kwargs, message):
    with pytest.raises(OverrideError, match=message):
        make(**kwargs)


def test_a_replicas_override_names_its_workload():
    o = make(action="replicas", target="deployment/project-a/web", replicas=3)
    assert (o.target, o.replicas, o.action) == (WEB, 3, OverrideAction.REPLICAS)


def test_row_keys_are_project_wide_or_per_workload_and_never_contain_a_slash():
    assert target_key(None) == "_project"
    assert target_key(parse_target("statefulset/project-a/db.primary")) == "statefulset:project-a:db.primary"


# -- the table ----------------------------------------------------------------------------------------


@pytest.fixture
def store(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    return OverrideStore(service, table_names.overrides)


@pytest.mark.integration
def test_saved_overrides_load_back_equal(store):
    wide = make()
    targeted = make(action="replicas", target=WEB, replicas=4)
    store.save(wide)
    store.save(targeted)
    loaded = store.load(MONDAY_NOON)
    assert sorted(loaded.active, key=lambda o: str(o.target)) == sorted([wide, targeted], key=lambda o: str(o.target))
    assert loaded.errors == () and loaded.removed == 0


@pytest.mark.integration
def test_a_new_override_of_the_same_scope_replaces_the_old_one(store):
    store.save(make(action="down"))
    store.save(make(action="up"))
    assert [o.action for o in store.load(MONDAY_NOON).active] == [OverrideAction.UP]


@pytest.mark.integration
def test_expired_overrides_are_ignored_and_removed(store):
    now = datetime.now(UTC)
    store.save(
        new_override(
            project(),
            "up",
            reason="r",
            actor="a",
            now=now - timedelta(hours=2),
            max_hours=72,
            until=now - timedelta(hours=1),
        )
    )
    loaded = store.load(now)
    assert loaded.active == () and loaded.removed == 1
    assert store.all() == []


@pytest.mark.integration
def test_a_hand_edited_bad_row_is_reported_and_the_others_load(store):
    store.save(make())
    bad = to_entity(make(target=WEB)) | {"Action": "sideways"}
    store._table.upsert_entity(bad)
    loaded = store.load(MONDAY_NOON)
    assert len(loaded.active) == 1
    assert len(loaded.errors) == 1 and "project-a/deployment:project-a:web" in loaded.errors[0]


@pytest.mark.integration
def test_clear_removes_and_returns_the_override(store):
    store.save(make(target=WEB))
    assert store.clear("project-a", WEB).target == WEB
    assert store.clear("project-a", WEB) is None
    assert store.load(MONDAY_NOON).active == ()


@pytest.mark.integration
def test_a_replay_in_the_future_ignores_but_keeps_overrides_still_running(store):
    now = datetime.now(UTC)
    running = new_override(project(), "up", reason="r", actor="a", now=now, max_hours=2, until=now + timedelta(hours=1))
    store.save(running)
    loaded = store.load(now + timedelta(days=3))
    assert loaded.active == () and loaded.removed == 0
    assert store.load(now).active == (running,)


def test_a_reason_with_bidirectional_control_characters_is_refused():
    from scaling.override import OverrideError, _text

    with pytest.raises(OverrideError, match="bidirectional"):
        _text("ok \u202edecnalab", field="reason", limit=500)
