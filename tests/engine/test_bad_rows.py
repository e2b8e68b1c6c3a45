"""Bad rows in the Projects table: every malformed column is reported, for that project only.

One table holds good projects next to one bad project per attack or typo below (names, zones, times,
holidays, access mode, resource ids of the wrong shape, shell and OData metacharacters, path traversal,
look-alike unicode, odd Edm types). Loading it must name each bad project's column, and nothing else.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from azure.data.tables import EdmType, EntityProperty, UpdateMode

from scaling.settings import Settings
from scaling.storage.projects import ProjectStore
from scaling.storage.rows import PARTITION
from scaling.storage.tables import TableNames, ensure_tables, table_service

pytestmark = pytest.mark.integration

SUB = "00000000-0000-0000-0000-000000000000"
CLUSTER = f"/subscriptions/{SUB}/resourceGroups/rg-demo/providers/Microsoft.ContainerService/managedClusters/aks-demo"
GOOD = {
    "Cluster": CLUSTER,
    "Namespaces": "project-a",
    "NodePools": "gpu",
    "NodePoolAction": "zero",
    "Uptime": "Mon-Fri 09:00-18:00",
    "TimeZone": "Europe/Berlin",
    "Holidays": "DE-BY",
    "ClosedDates": "2026-12-24..2026-12-31",
    "WarmupMinutes": 20,
    "Access": "api",
}
GOOD_PROJECTS = ("good-a", "good-b")

# (case id, column reported, column -> value written, words the message must contain)
CASES = [
    (
        "cluster-vm-id",
        "Cluster",
        {"Cluster": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"},
        "not an AKS resource id",
    ),
    ("cluster-pool-id", "Cluster", {"Cluster": CLUSTER + "/agentPools/gpu"}, "not an AKS resource id"),
    (
        "cluster-bad-guid",
        "Cluster",
        {
            "Cluster": "/subscriptions/not-a-guid/resourceGroups/rg"
            "/providers/Microsoft.ContainerService/managedClusters/a"
        },
        "is not a GUID",
    ),
    (
        "cluster-odata-quote",
        "Cluster",
        {
            "Cluster": f"/subscriptions/{SUB}/resourceGroups/rg' or '1' eq '1"
            "/providers/Microsoft.ContainerService/managedClusters/a"
        },
        "resource group",
    ),
    (
        "cluster-shell",
        "Cluster",
        {
            "Cluster": f"/subscriptions/{SUB}/resourceGroups/rg"
            "/providers/Microsoft.ContainerService/managedClusters/a;reboot"
        },
        "cluster name",
    ),
    ("cluster-number", "Cluster", {"Cluster": 42}, "must be text"),
    ("namespace-space", "Namespaces", {"Namespaces": "team a"}, "not a DNS-1123 label"),
    ("namespace-shell", "Namespaces", {"Namespaces": "ns;rm -rf /"}, "not a DNS-1123 label"),
    ("namespace-subshell", "Namespaces", {"Namespaces": "$(curl evil)"}, "not a DNS-1123 label"),
    ("namespace-traversal", "Namespaces", {"Namespaces": "../kube-system"}, "not a DNS-1123 label"),
    ("namespace-fullwidth", "Namespaces", {"Namespaces": "ｐｒｏｊｅｃｔ"}, "not a DNS-1123 label"),
    ("namespace-zero-width", "Namespaces", {"Namespaces": "project\u200b-a"}, "not a DNS-1123 label"),
    ("namespace-int64", "Namespaces", {"Namespaces": EntityProperty(7, EdmType.INT64)}, "must be text"),
    ("workload-traversal", "Workloads", {"Workloads": "deployment/../etc"}, "is not 'deployment/<name>'"),
    ("workload-kind", "Workloads", {"Workloads": "pod/x"}, "is not 'deployment/<name>'"),
    ("workload-upper", "Workloads", {"Workloads": "deployment/App"}, "not a DNS-1123 subdomain"),
    ("exclude-backtick", "Exclude", {"Exclude": "deployment/a`id`"}, "not a DNS-1123 subdomain"),
    ("pool-upper", "NodePools", {"NodePools": "GPU-pool"}, "not a valid AKS pool name"),
    ("pool-quote", "NodePools", {"NodePools": "gpu'1"}, "not a valid AKS pool name"),
    ("pool-action", "NodePoolAction", {"NodePoolAction": "shutdown"}, "zero | stop | none"),
    ("zone-unknown", "TimeZone", {"TimeZone": "Mars/Olympus"}, "IANA time zone"),
    ("zone-traversal", "TimeZone", {"TimeZone": "../../etc/passwd"}, "IANA time zone"),
    ("time-range", "Uptime", {"Uptime": "Mon-Fri 9h-17h"}, "is not a time range"),
    ("time-weekday", "Uptime", {"Uptime": "Mon-Fry 09:00-18:00"}, "unknown weekday 'Fry'"),
    ("time-bool", "Uptime", {"Uptime": True}, "must be text"),
    ("schedule-both", "Uptime/Downtime", {"Downtime": "Sat-Sun 00:00-24:00"}, "both Uptime and Downtime"),
    ("holiday-country", "Holidays", {"Holidays": "XX"}, "unknown country 'XX'"),
    ("holiday-subdivision", "Holidays", {"Holidays": "DE-ZZ"}, "unknown subdivision 'ZZ'"),
    ("closed-date", "ClosedDates", {"ClosedDates": "2026-02-30"}, "not a valid date"),
    ("closed-datetime", "ClosedDates", {"ClosedDates": datetime(2026, 12, 24, tzinfo=UTC)}, "must be text"),
    ("access-mode", "Access", {"Access": "ssh"}, "api | run-command"),
    ("enabled-word", "Enabled", {"Enabled": "yes"}, "not a boolean"),
    ("dry-run-word", "DryRun", {"DryRun": "maybe"}, "not a boolean"),
    ("warmup-negative", "WarmupMinutes", {"WarmupMinutes": -5}, "out of range"),
    ("warmup-huge", "WarmupMinutes", {"WarmupMinutes": 9999}, "out of range"),
    ("warmup-text", "WarmupMinutes", {"WarmupMinutes": "20; sleep 99"}, "not a whole number"),
    ("column-typo", "Uptme", {"Uptme": "Mon-Fri 09:00-18:00"}, "did you mean 'Uptime'"),
]


def fill(table) -> None:
    for name in GOOD_PROJECTS:
        put(table, name, {**GOOD, "Namespaces": name})
    for case, _, change, _ in CASES:
        put(table, case, {**GOOD, "Namespaces": case, **change})


@pytest.fixture
def table(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    table = service.get_table_client(table_names.projects)
    fill(table)
    return table


@pytest.fixture(scope="module")
def loaded(azurite):
    """The whole table loaded once for the read-only checks (one table per module keeps them fast)."""
    settings = replace(Settings.from_env({}), storage_connection=azurite.connection_string)
    names = TableNames(projects=f"badrows{os.getpid()}Projects")
    service = table_service(settings)
    service.create_table(names.projects)
    fill(service.get_table_client(names.projects))
    yield ProjectStore(service, names).load()
    service.delete_table(names.projects)


def put(table, name, row):
    table.upsert_entity({"PartitionKey": PARTITION, "RowKey": name, **row}, mode=UpdateMode.REPLACE)


@pytest.mark.parametrize("case, column, change, words", CASES, ids=[c[0] for c in CASES])
def test_each_malformed_column_is_reported_on_that_column_of_that_project(loaded, case, column, change, words):
    errors = [e for e in loaded.errors if e.project == case]
    assert [e.column for e in errors] == [column], errors
    assert words in errors[0].message


def test_good_projects_next_to_bad_rows_load_unaffected(loaded):
    assert [p.name for p in loaded.projects] == sorted(GOOD_PROJECTS)
    assert not any(e.project in GOOD_PROJECTS for e in loaded.errors)


def test_every_bad_row_is_reported_and_no_error_is_attributed_to_another_project(loaded):
    assert sorted(loaded.invalid_names) == sorted(c[0] for c in CASES)
    assert len(loaded.errors) == len(CASES)


def test_a_project_name_that_is_not_a_dns_label_is_reported_on_rowkey(table, settings, table_names):
    put(table, "Project X' or 1 eq 1", {**GOOD, "Namespaces": "x"})
    loaded = ProjectStore(table_service(settings), table_names).load()
    [error] = [e for e in loaded.errors if e.column == "RowKey"]
    assert error.project == "Project X' or 1 eq 1" and "not a DNS-1123 label" in error.message
    assert [p.name for p in loaded.projects] == sorted(GOOD_PROJECTS)


def test_a_row_with_every_column_malformed_reports_every_column_at_once(table, settings, table_names):
    broken = {}
    for _, _, change, _ in CASES:
        broken.update(change)
    broken.pop("Downtime")  # "both set" would hide the Uptime error behind the pair
    put(table, "everything-wrong", broken)
    loaded = ProjectStore(table_service(settings), table_names).load()
    columns = {e.column for e in loaded.errors if e.project == "everything-wrong"}
    expected = {column for _, column, _, _ in CASES} - {"Uptime/Downtime"}
    assert columns == expected


def test_a_tick_over_bad_rows_reports_each_for_its_project_and_reconciles_every_good_project(
    settings, table_names, emu
):
    from scaling.model import Access
    from tests.fixtures.fault_world import DOWN, build_world, not_down, sizes

    world = build_world(settings, table_names, emu, private_access=Access.API)
    table = table_service(world.settings).get_table_client(table_names.projects)
    bad = CASES[:: max(1, len(CASES) // 8)]  # a spread of kinds: ids, names, zones, times, holidays, access
    for case, _, change, _ in bad:
        put(table, case, {**GOOD, "Namespaces": "project-a", **change})  # would fight project-a if it loaded
    originals = sizes(emu)
    report = world.tick(DOWN)
    assert not_down(emu, originals) == []  # every good project went down as scheduled
    for case, column, _, words in bad:
        mine = [e for e in report.project_errors if e.startswith(f"project '{case}',")]
        assert len(mine) == 1 and f"column {column}:" in mine[0] and words in mine[0], (case, report.project_errors)
    assert len(report.project_errors) == len(bad)
    assert not any(o.result.value == "failed" for o in report.outcomes)


def bad_row_world(settings, table_names, emu):
    from scaling.model import Access
    from tests.fixtures.fault_world import build_world

    world = build_world(settings, table_names, emu, private_access=Access.API)
    table = table_service(world.settings).get_table_client(table_names.projects)
    put(table, "zone-typo", {**GOOD, "Namespaces": "zone-typo", "TimeZone": "Europe/Berlinn"})
    put(table, "Project X' or 1 eq 1", {**GOOD, "Namespaces": "x"})
    return world


def row_reports(world, project: str) -> list:
    rows, _ = world.context.audit.query(project=project, limit=50)
    return [r for r in rows if r.target.startswith("row/")]


def test_a_row_that_does_not_load_is_audited_for_its_project_once_not_every_tick(settings, table_names, emu):
    from tests.fixtures.fault_world import DOWN

    world = bad_row_world(settings, table_names, emu)
    world.tick(DOWN)
    world.tick(DOWN + timedelta(minutes=5))
    [row] = row_reports(world, "zone-typo")
    assert (row.target, row.action, row.result.value) == ("row/TimeZone", "report", "failed")
    assert row.reason.startswith("row not loaded, project not scheduled:") and "Europe/Berlinn" in row.reason


def test_a_row_whose_name_cannot_key_the_audit_is_logged_only(settings, table_names, emu, caplog):
    from tests.fixtures.fault_world import DOWN

    world = bad_row_world(settings, table_names, emu)
    with caplog.at_level("WARNING", logger="scaling.reconcile"):
        report = world.tick(DOWN)
    assert any("Project X' or 1 eq 1" in e for e in report.project_errors)
    assert any("Project X' or 1 eq 1" in r.getMessage() for r in caplog.records)
    day_rows, _ = world.context.audit.query(since=DOWN - timedelta(hours=1), limit=500)
    assert not [r for r in day_rows if r.project.startswith("Project X")]
