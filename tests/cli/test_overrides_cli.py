"""`python -m scaling override set|clear|list` and `python -m scaling audit` against a real Azurite."""

import io
import json

import pytest

from scaling import cli
from scaling.storage.projects import ProjectStore
from scaling.storage.tables import ensure_tables, table_service
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


def test_a_naive_time_is_a_usage_error(run):
    code, _, _ = run("override", "set", "project-a", "up", "--reason", "x", "--until", "2026-11-30T20:00")
    assert code == 2


def test_audit_prints_a_table_for_people(run):
    run("override", "set", "project-a", "up", "--reason", "demo", "--actor", "bob", "--now", MONDAY_NOON)
    code, out, _ = run("audit", "--since", "2026-11-30T00:00Z", "--until", "2026-12-01T00:00Z")
    assert code == 0 and "override-set" in out and "manual/bob" in out and "demo" in out
