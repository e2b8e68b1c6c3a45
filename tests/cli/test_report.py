"""`python -m scaling report --month ...` against a real Azurite: audit rows in, savings out."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from scaling import cli
from scaling.plan.actions import Direction, Outcome, PoolChange, Result, Why
from scaling.plan.observed import PoolSize
from scaling.storage.audit import AuditStore, row_for
from scaling.storage.projects import ProjectStore
from scaling.storage.tables import ensure_tables, table_service
from tests.fixtures.plan_builders import CLUSTER, project

pytestmark = pytest.mark.integration
UTC = UTC
RUNNING = PoolSize(3, False, None, None)
ZERO = PoolSize(0, False, None, None)


def pool_row(when, direction, *, result=Result.OK, sequence=0):
    before, after = (RUNNING, ZERO) if direction is Direction.DOWN else (ZERO, RUNNING)
    change = PoolChange(CLUSTER, "gpu", before, after, {}, direction, Why(project="project-b"))
    return row_for(Outcome(change, result), time=when, tick=f"t{sequence}", sequence=sequence)


@pytest.fixture
def run(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    ProjectStore(service, table_names).upsert(
        [project("project-b", namespaces=("project-b",), node_pools=("gpu",), timezone="UTC", warmup_minutes=0)]
    )
    audit = AuditStore(service, table_names.audit)
    env = {"SCALING_STORAGE_CONNECTION": settings.storage_connection}

    def invoke(*argv, rows=()):
        audit.write(list(rows))
        out, err = io.StringIO(), io.StringIO()
        code = cli.main(list(argv), env=env, table_names=table_names, stdout=out, stderr=err)
        return code, out.getvalue(), err.getvalue()

    return invoke


NIGHT = [
    pool_row(datetime(2026, 11, 10, 18, 0, tzinfo=UTC), Direction.DOWN, sequence=1),
    pool_row(datetime(2026, 11, 11, 8, 0, tzinfo=UTC), Direction.UP, sequence=2),
]
ARGS = (
    "report",
    "--month",
    "2026-11",
    "--no-arm",
    "--vm-size",
    "gpu=Standard_NC4as_T4_v3",
    "--now",
    "2026-12-02T00:00:00Z",
)


def test_json_report_counts_a_night_of_a_three_node_gpu_pool(run):
    code, out, err = run(*ARGS, "--format", "json", rows=NIGHT)
    assert code == 0, err
    data = json.loads(out)
    (pool,) = data["pools"]
    assert (pool["project"], pool["pool"], pool["node_hours"], pool["vm_size"]) == (
        "project-b",
        "gpu",
        42.0,
        "Standard_NC4as_T4_v3",
    )
    assert pool["cost"] == pytest.approx(42.0 * 0.526, abs=0.01)
    assert data["projects"][0]["node_hours"] == 42.0


def test_csv_report_has_a_line_per_pool_and_totals(run):
    code, out, _ = run(*ARGS, "--format", "csv", rows=NIGHT)
    lines = list(csv.DictReader(io.StringIO(out)))
    assert code == 0
    assert [(row["project"], row["cluster"], row["pool"]) for row in lines] == [
        ("project-b", CLUSTER.resource_id, "gpu"),
        ("project-b", "TOTAL", ""),
        ("ALL", "TOTAL", ""),
    ]
    assert lines[-1]["node_hours"] == "42.00"


def test_table_report_is_readable_and_progress_goes_to_stderr(run):
    code, out, err = run(*ARGS, rows=NIGHT)
    assert code == 0
    assert "Savings 2026-11 (UTC)" in out and "gpu" in out and "42.0" in out
    assert "audit rows read: 2" in err


def test_dry_run_rows_save_nothing(run):
    rows = [pool_row(datetime(2026, 11, 10, 18, 0, tzinfo=UTC), Direction.DOWN, result=Result.DRY_RUN, sequence=1)]
    code, out, _ = run(*ARGS, "--json", rows=rows)
    assert code == 0 and json.loads(out)["pools"] == []


def test_a_missing_up_row_is_estimated_from_the_projects_schedule(run):
    rows = [
        pool_row(datetime(2026, 11, 10, 18, 0, tzinfo=UTC), Direction.DOWN, sequence=1),  # Tuesday
        pool_row(datetime(2026, 11, 11, 18, 0, tzinfo=UTC), Direction.DOWN, sequence=2),
    ]
    code, out, _ = run(*ARGS, "--json", "--now", "2026-11-11T20:00:00Z", rows=rows)
    data = json.loads(out)
    assert data["pools"][0]["hours_down"] == 15.0 + 2.0  # to 09:00 (the office opens), then from 18:00
    assert data["pools"][0]["estimated"] and any("assumed up" in n for n in data["notes"])


@pytest.mark.parametrize(
    "argv, message",
    [
        (("report", "--month", "2026-13"), "expected YYYY-MM"),
        (("report", "--month", "2026-11", "--zone", "Nowhere/Land"), "zone 'Nowhere/Land'"),
        (("report", "--month", "2026-11", "--vm-size", "gpu"), "expected POOL=SIZE"),
        (("report", "--month", "2026-11", "--now", "yesterday"), "not an ISO 8601 instant"),
        (("report", "--month", "2026-11", "--prices", "/nonexistent/prices.json"), "cannot be read"),
    ],
    ids=["month", "zone", "vm-size", "now", "prices"],
)
def test_bad_input_exits_1_saying_what_is_wrong(run, argv, message):
    code, _, err = run(*argv)
    assert code == 1 and message in err


def test_without_storage_the_report_exits_3():
    err = io.StringIO()
    code = cli.main(["report", "--month", "2026-11", "--no-arm"], env={}, stdout=io.StringIO(), stderr=err)
    assert code == 3 and "SCALING_STORAGE_CONNECTION" in err.getvalue()
