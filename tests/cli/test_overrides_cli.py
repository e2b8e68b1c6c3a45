"""`python -m scaling override set|clear|list` and `python -m scaling audit` against a real Azurite."""

import io
import json

import pytest

from scaling import cli
from scaling.storage.projects import ProjectStore
from scaling.storage.tables import ensure_tables, table_service
from tests.fixtures.api_world import NOW as API_NOW
from tests.fixtures.plan_builders import project

pytestmark = pytest.mark.integration
MONDAY_NOON = "2026-11-30T12:00:00+01:00"  # Monday, Berlin business hours (until 18:00)


@pytest.fixture
def run(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    ProjectStore(service, table_names).upsert([project()])
    env = {"SCALING_STORAGE_CONNECTION": settings.storage_connection}

    def invoke(*argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), env=env, table_names=table_names, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return invoke


def test_set_then_list_shows_the_override_until_the_next_schedule_change(run):
    code, out, _ = run(
        "override", "set", "project-a", "down", "--reason", "cost review", "--actor", "bob", "--now", MONDAY_NOON
    )
    assert code == 0 and "until 2026-11-30 17:00Z" in out
    code, out, _ = run("override", "list", "--json", "--now", MONDAY_NOON)
    (row,) = json.loads(out)
    assert (row["project"], row["action"], row["actor"], row["reason"]) == ("project-a", "down", "bob", "cost review")


def test_setting_and_clearing_are_audited_as_manual(run):
    run(
        "override",
        "set",
        "project-a",
        "replicas",
        "--target",
        "deployment/project-a/web",
        "--replicas",
        "2",
        "--reason",
        "load test",
        "--actor",
        "bob",
        "--now",
        MONDAY_NOON,
    )
    run(
        "override",
        "clear",
        "project-a",
        "--target",
        "deployment/project-a/web",
        "--actor",
        "carol",
        "--now",
        "2026-11-30T12:30:00+01:00",
    )
    code, out, _ = run("audit", "--project", "project-a", "--json")
    rows = json.loads(out)
    assert [(r["action"], r["actor"], r["trigger"]) for r in rows] == [
        ("override-clear", "carol", "manual"),
        ("override-set", "bob", "manual"),
    ]
    assert rows[1]["to"] == "replicas=2 until 2026-11-30T17:00Z"


def test_a_bad_override_exits_1_saying_what_is_wrong(run):
    code, _, err = run("override", "set", "project-a", "up", "--reason", " ", "--now", MONDAY_NOON)
    assert code == 1 and "reason is required" in err


def test_an_unknown_project_exits_1(run):
    code, _, err = run("override", "set", "nope", "up", "--reason", "x", "--now", MONDAY_NOON)
    assert code == 1 and "'nope' does not exist" in err


def test_clearing_nothing_exits_1(run):
    code, _, err = run("override", "clear", "project-a")
    assert code == 1 and "no override for project project-a" in err


def test_until_without_an_offset_is_read_in_the_projects_zone(run):
    code, out, _ = run("override", "set", "project-a", "up", "--reason", "x", "--until", "22:00", "--now", MONDAY_NOON)
    assert code == 0, out
    assert "until 2026-11-30 21:00Z (Mon 30 Nov 22:00 Europe/Berlin)" in out


def test_for_a_duration_counts_from_now(run):
    code, out, _ = run("override", "set", "project-a", "up", "--reason", "x", "--for", "2h", "--now", MONDAY_NOON)
    assert code == 0 and "until 2026-11-30 13:00Z" in out


def test_a_recorded_only_override_says_when_the_clusters_change(run):
    code, out, _ = run("override", "set", "project-a", "down", "--reason", "x", "--now", MONDAY_NOON)
    assert code == 0
    assert "not applied yet (this shell names no cluster endpoint" in out
    assert "next timer tick (SCALING_TIMER '0 */5 * * * *': 11:05Z)" in out


def test_the_cap_names_the_setting(run):
    code, _, err = run("override", "set", "project-a", "down", "--reason", "x", "--for", "4d", "--now", MONDAY_NOON)
    assert code == 1 and "SCALING_MAX_OVERRIDE_HOURS=72" in err and "MaxOverrideHours" in err


def test_audit_since_takes_a_duration(run):
    run("override", "set", "project-a", "up", "--reason", "recent", "--actor", "bob")
    code, out, _ = run("audit", "--since", "2h")
    assert code == 0 and "recent" in out
    code, _, _ = run("audit", "--since", "yesterday")
    assert code == 2  # argparse's usage error, naming the durations it takes


def test_a_shell_that_reaches_the_clusters_applies_set_and_clear_at_once(world, azurite, emu, table_names):
    env = {**emu.env(), "SCALING_STORAGE_CONNECTION": azurite.connection_string}

    def invoke(*argv: str) -> tuple[int, str]:
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), env=env, table_names=table_names, stdout=out, stderr=err)
        return code, out.getvalue() + err.getvalue()

    now = API_NOW.isoformat()  # Tuesday 11:00 in Berlin: project-a is up by its schedule
    code, out = invoke("override", "set", "project-a", "down", "--reason", "offsite", "--actor", "bob", "--now", now)
    assert code == 0, out
    assert "applied now:" in out and "deployment/project-a/sample-app-a: 2 -> 0 ok" in out
    assert world.replicas("project-a", "sample-app-a") == 0
    code, out = invoke("override", "clear", "project-a", "--actor", "bob", "--now", now)
    assert code == 0, out
    assert "the schedule applies again from now" in out and "0 -> 2 ok" in out
    assert world.replicas("project-a", "sample-app-a") == 2


def test_audit_prints_a_table_for_people(run):
    run("override", "set", "project-a", "up", "--reason", "demo", "--actor", "bob", "--now", MONDAY_NOON)
    code, out, _ = run("audit", "--since", "2026-11-30T00:00Z", "--until", "2026-12-01T00:00Z")
    assert code == 0 and "override-set" in out and "manual/bob" in out and "demo" in out
