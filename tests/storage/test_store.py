"""The Projects table against a real Azurite: one-query load, bad rows reported, conditional writes, prune."""

import pytest
from azure.data.tables import EdmType, EntityProperty, TableServiceClient, UpdateMode

from scaling.storage.projects import Conflict, ProjectStore
from scaling.storage.rows import PARTITION, project_to_row, row_to_project, validate_rows
from scaling.storage.tables import ensure_tables, table_service

pytestmark = pytest.mark.integration

CLUSTER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-hours-demo"
    "/providers/Microsoft.ContainerService/managedClusters/aks-demo"
)


def columns(**changes):
    row = {"Cluster": CLUSTER, "Namespaces": "ns", "Uptime": "Mon-Fri 09:00-19:00", "TimeZone": "Asia/Tokyo"}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def project(name, **changes):
    return row_to_project(name, columns(Namespaces=name, **changes))


@pytest.fixture
def service(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    return service


@pytest.fixture
def store(service, table_names):
    return ProjectStore(service, table_names)


@pytest.fixture
def table(service, table_names):
    """Direct access to the table, as an operator in Storage Explorer has it."""
    return service.get_table_client(table_names.projects)


def put(table, name, row, partition=PARTITION):
    table.upsert_entity({"PartitionKey": partition, "RowKey": name, **row}, mode=UpdateMode.REPLACE)


# -- load -----------------------------------------------------------------------------------------


def test_load_returns_every_valid_project_sorted_by_name(store, table):
    put(table, "project-b", columns())
    put(table, "project-a", columns(Uptime="always"))
    loaded = store.load()
    assert [p.name for p in loaded.projects] == ["project-a", "project-b"]
    assert loaded.errors == ()


def test_load_reports_bad_rows_with_project_column_and_message_and_loads_the_others(store, table):
    put(table, "good", columns())
    put(table, "typo", columns(Uptime=None, Uptim="Mon-Fri 09:00-19:00"))
    put(table, "bad-zone", columns(TimeZone="Asia/Tokio"))
    put(table, "bad-warmup", columns(WarmupMinutes=9000))
    loaded = store.load()
    assert [p.name for p in loaded.projects] == ["good"]
    reported = {(e.project, e.column) for e in loaded.errors}
    assert {("typo", "Uptim"), ("bad-zone", "TimeZone"), ("bad-warmup", "WarmupMinutes")} <= reported
    assert all(e.message for e in loaded.errors)


def test_load_reads_the_table_with_one_request(settings, table_names, table):
    for i in range(30):
        put(table, f"p{i:02d}", columns())
    put(table, "broken", columns(Access="ssh"))
    requests = []
    counted = TableServiceClient.from_connection_string(
        settings.storage_connection, raw_request_hook=lambda r: requests.append(r.http_request)
    )
    loaded = ProjectStore(counted, table_names).load()
    assert len(loaded.projects) == 30 and len(loaded.errors) == 1
    assert len(requests) == 1
    assert requests[0].method == "GET" and "PartitionKey%20eq%20%27project%27" in requests[0].url


def test_load_ignores_rows_of_other_partitions(store, table):
    put(table, "project-a", columns())
    put(table, "notes", {"Text": "not a project"}, partition="meta")
    loaded = store.load()
    assert [p.name for p in loaded.projects] == ["project-a"] and loaded.errors == ()


def test_load_accepts_int64_and_text_numbers_from_other_tools(store, table):
    put(table, "int64", columns(NodePools="gpu", WarmupMinutes=EntityProperty(30, EdmType.INT64)))
    put(table, "text", columns(NodePools="gpu", WarmupMinutes="15", Enabled="false"))
    loaded = store.load()
    assert [(p.name, p.warmup_minutes) for p in loaded.projects] == [("int64", 30), ("text", 15)]
    assert loaded.get("text").enabled is False


def test_load_of_an_empty_table_is_empty(store):
    loaded = store.load()
    assert loaded.projects == () and loaded.errors == ()


# -- upsert ---------------------------------------------------------------------------------------


def test_upsert_adds_new_rows_in_canonical_form(store, table):
    report = store.upsert([project("project-a"), project("project-b", WarmupMinutes="20", NodePools="gpu")])
    assert report.added == ("project-a", "project-b")
    stored = table.get_entity(PARTITION, "project-b")
    assert stored["WarmupMinutes"] == 20 and stored["Namespaces"] == "project-b"


def test_upsert_leaves_equal_rows_alone(store, table):
    store.upsert([project("project-a")])
    etag = table.get_entity(PARTITION, "project-a").metadata["etag"]
    report = store.upsert([project("project-a")])
    assert report.unchanged == ("project-a",) and report.added == report.updated == ()
    assert table.get_entity(PARTITION, "project-a").metadata["etag"] == etag


def test_upsert_replaces_a_changed_row_so_dropped_columns_disappear(store, table):
    put(table, "project-a", columns(Uptime=None, Downtime="Sat-Sun 00:00-24:00", Holidays="JP"))
    report = store.upsert([project("project-a")])
    assert report.updated == ("project-a",)
    stored = table.get_entity(PARTITION, "project-a")
    assert "Downtime" not in stored and "Holidays" not in stored  # a merge would have kept them
    assert store.load().errors == ()


def test_upsert_does_not_overwrite_a_row_edited_after_it_was_read(store, table):
    put(table, "project-a", columns(Uptime="always"))
    put(table, "project-b", columns(Uptime="always"))
    current = store.read()
    put(table, "project-a", columns(Uptime="Mon-Fri 07:00-20:00"))  # an operator's edit meanwhile
    report = store.upsert([project("project-a"), project("project-b")], current=current)
    assert report.conflicts == (Conflict("project-a", "was changed by someone else while importing; not overwritten"),)
    assert report.updated == ("project-b",)
    assert table.get_entity(PARTITION, "project-a")["Uptime"] == "Mon-Fri 07:00-20:00"


def test_upsert_does_not_overwrite_a_row_created_after_the_read(store, table):
    current = store.read()
    put(table, "project-a", columns(Uptime="always"))
    report = store.upsert([project("project-a")], current=current)
    assert [c.project for c in report.conflicts] == ["project-a"] and report.added == ()
    assert table.get_entity(PARTITION, "project-a")["Uptime"] == "always"


def test_upsert_writes_more_rows_than_one_transaction_holds(store):
    report = store.upsert([project(f"p{i:03d}") for i in range(150)])
    assert len(report.added) == 150
    assert len(store.load().projects) == 150


# -- prune and export -----------------------------------------------------------------------------


def test_prune_deletes_rows_not_kept_and_keeps_the_others(store, table):
    for name in ("keep", "old-a", "old-b"):
        put(table, name, columns())
    report = store.prune(["keep"])
    assert report.deleted == ("old-a", "old-b")
    assert [row.name for row in store.read().values()] == ["keep"]


def test_prune_removes_invalid_rows_too(store, table):
    put(table, "Not A Name", columns())
    assert store.prune([]).deleted == ("Not A Name",)


def test_prune_does_not_delete_a_row_edited_after_it_was_read(store, table):
    put(table, "old", columns())
    current = store.read()
    put(table, "old", columns(Uptime="always"))
    report = store.prune([], current=current)
    assert report.deleted == () and [c.project for c in report.conflicts] == ["old"]
    assert "old" in store.read()


def test_export_returns_every_row_as_stored_sorted_by_name(store, table):
    put(table, "b", columns(Access="ssh"))
    put(table, "a", columns())
    exported = store.export()
    assert [row["RowKey"] for row in exported] == ["a", "b"]
    assert exported[1]["Access"] == "ssh"  # invalid rows are exported, as they are
    assert "PartitionKey" not in exported[0]


def test_export_then_upsert_round_trips(store):
    projects = [project("project-a", Holidays="DE-BE", NodePools="pool1", WarmupMinutes=5), project("project-b")]
    store.upsert(projects)
    exported = store.export()
    again = validate_rows((row.pop("RowKey"), row) for row in exported)
    assert again.projects == tuple(projects) and again.errors == ()
    assert [project_to_row(p) for p in again.projects] == [project_to_row(p) for p in projects]
    assert store.upsert(again.projects).unchanged == ("project-a", "project-b")
