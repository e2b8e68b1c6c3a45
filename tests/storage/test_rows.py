"""A Projects row <-> a Project: every column's rule, and every bad column reported with its name."""

from datetime import UTC, datetime

import pytest

from scaling.model import Access, NodePoolAction, ProjectError, WorkloadKind, WorkloadSelector
from scaling.names import ClusterId
from scaling.storage.rows import COLUMNS, InvalidRow, project_to_row, row_to_project, validate_rows

CLUSTER = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-aks-hours-demo"
    "/providers/Microsoft.ContainerService/managedClusters/aks-demo"
)
TOKYO_OFFICE = {
    "Cluster": CLUSTER,
    "Namespaces": "project-b",
    "NodePools": "gpu",
    "WarmupMinutes": 20,
    "Uptime": "Mon-Fri 09:00-19:00",
    "TimeZone": "Asia/Tokyo",
    "Holidays": "JP",
    "ClosedDates": "2026-12-29..2027-01-03",
}


def row(**changes):
    """TOKYO_OFFICE with columns changed; a value of None removes the column."""
    out = dict(TOKYO_OFFICE)
    for column, value in changes.items():
        if value is None:
            out.pop(column, None)
        else:
            out[column] = value
    return out


def errors_of(name="project-b", **changes) -> list[ProjectError]:
    with pytest.raises(InvalidRow) as raised:
        row_to_project(name, row(**changes))
    return list(raised.value.errors)


def only_error(**changes) -> ProjectError:
    errors = errors_of(**changes)
    assert len(errors) == 1, errors
    return errors[0]


# -- a valid row ----------------------------------------------------------------------------------


def test_a_full_row_becomes_a_project():
    project = row_to_project(
        "project-b",
        row(
            Workloads="deployment/triton, statefulset/cache",
            Exclude="deployment/debug",
            Access="run-command",
            NodePoolAction="stop",
            Enabled=True,
            DryRun="true",
        ),
    )
    assert project.name == "project-b"
    assert project.cluster == ClusterId("00000000-0000-0000-0000-000000000000", "rg-aks-hours-demo", "aks-demo")
    assert project.namespaces == ("project-b",)
    assert project.workloads == (
        WorkloadSelector(WorkloadKind.DEPLOYMENT, "triton"),
        WorkloadSelector(WorkloadKind.STATEFULSET, "cache"),
    )
    assert project.exclude == (WorkloadSelector(WorkloadKind.DEPLOYMENT, "debug"),)
    assert project.node_pools == ("gpu",)
    assert project.node_pool_action is NodePoolAction.STOP
    assert project.warmup_minutes == 20
    assert project.access is Access.RUN_COMMAND
    assert (project.enabled, project.dry_run) == (True, True)


def test_the_schedule_columns_are_parsed_into_a_schedule():
    project = row_to_project("project-b", row())
    assert project.spec.uptime == "Mon-Fri 09:00-19:00"
    assert project.spec.timezone == "Asia/Tokyo"
    assert project.schedule.is_up(datetime(2026, 11, 30, 1, 0, tzinfo=UTC))  # Monday 10:00 JST
    assert not project.schedule.is_up(datetime(2026, 12, 29, 1, 0, tzinfo=UTC))  # closed date


def test_optional_columns_take_their_defaults():
    project = row_to_project("p", {"Cluster": CLUSTER, "Namespaces": "a", "Downtime": "Sat-Sun 00:00-24:00"})
    assert project.spec.timezone == "UTC"
    assert (project.workloads, project.exclude, project.node_pools) == ((), (), ())
    assert project.node_pool_action is NodePoolAction.ZERO
    assert project.warmup_minutes == 0
    assert project.access is Access.API
    assert (project.enabled, project.dry_run) == (True, False)


def test_empty_text_means_not_set():
    project = row_to_project("project-b", row(Holidays="", ClosedDates="  ", Workloads=""))
    assert project.spec.holidays is None and project.workloads == ()


def test_comma_lists_allow_spaces_and_keep_their_order():
    project = row_to_project("project-b", row(Namespaces=" b ,a", NodePools="gpu,gpu2"))
    assert project.namespaces == ("b", "a")
    assert project.node_pools == ("gpu", "gpu2")


@pytest.mark.parametrize("value, expected", [(True, True), (False, False), ("true", True), ("FALSE", False)])
def test_booleans_are_bools_or_the_words_true_and_false(value, expected):
    assert row_to_project("project-b", row(DryRun=value)).dry_run is expected


def test_warmup_minutes_may_be_text_digits():
    assert row_to_project("project-b", row(WarmupMinutes="45")).warmup_minutes == 45


def test_enum_columns_ignore_case():
    project = row_to_project("project-b", row(NodePoolAction="None", Access="Run-Command"))
    assert (project.node_pool_action, project.access) == (NodePoolAction.NONE, Access.RUN_COMMAND)


def test_table_system_columns_are_not_reported_as_unknown():
    project = row_to_project("project-b", row(PartitionKey="project", RowKey="project-b", Timestamp="x"))
    assert project.name == "project-b"


# -- one test per kind of bad column -------------------------------------------------------------


def test_a_project_name_that_is_not_a_dns_label_is_reported_on_rowkey():
    error = errors_of(name="Project_B")[0]
    assert (error.project, error.column) == ("Project_B", "RowKey")
    assert "DNS-1123" in error.message


def test_an_unknown_column_is_an_error_with_a_suggestion():
    errors = errors_of(Uptim="Mon-Fri 09:00-19:00", Uptime=None)  # the typo must not mean "no schedule"
    assert errors[0].column == "Uptim"
    assert "did you mean 'Uptime'" in errors[0].message
    assert errors[1].column == "Uptime/Downtime"


def test_a_column_in_the_wrong_case_is_unknown_and_the_right_spelling_suggested():
    error = errors_of(timezone="Asia/Tokyo")[0]
    assert error.column == "timezone"
    assert "'TimeZone'" in error.message


def test_a_missing_cluster_is_reported():
    error = only_error(Cluster=None)
    assert (error.column, error.message) == ("Cluster", "is required and missing or empty")


def test_a_cluster_that_is_not_an_aks_resource_id_is_reported():
    error = only_error(Cluster="/subscriptions/x/resourceGroups/rg")
    assert error.column == "Cluster" and "AKS resource id" in error.message


def test_a_bad_namespace_is_reported():
    error = only_error(Namespaces="project-b, Project_C")
    assert error.column == "Namespaces" and "'Project_C'" in error.message


def test_missing_namespaces_are_reported():
    assert only_error(Namespaces="").column == "Namespaces"


def test_an_empty_list_entry_is_reported():
    error = only_error(Namespaces="a,,b")
    assert error.column == "Namespaces" and "empty entry" in error.message


def test_a_repeated_list_entry_is_reported():
    error = only_error(NodePools="gpu, gpu")
    assert error.column == "NodePools" and "twice" in error.message


@pytest.mark.parametrize("column", ["Workloads", "Exclude"])
@pytest.mark.parametrize("value", ["triton", "pod/triton", "deployment/Triton", "deployment/ns/triton"])
def test_a_bad_workload_entry_is_reported(column, value):
    error = only_error(**{column: value})
    assert error.column == column
    assert "'deployment/<name>' or 'statefulset/<name>'" in error.message or "DNS-1123" in error.message


def test_a_bad_node_pool_name_is_reported():
    error = only_error(NodePools="GPU-pool")
    assert error.column == "NodePools" and "AKS pool name" in error.message


def test_an_unknown_node_pool_action_is_reported():
    error = only_error(NodePoolAction="off")
    assert (error.column, error.message) == ("NodePoolAction", "'off' is not one of zero | stop | none")


def test_an_unknown_access_is_reported():
    error = only_error(Access="ssh")
    assert (error.column, error.message) == ("Access", "'ssh' is not one of api | run-command")


@pytest.mark.parametrize("value", ["yes", 1, "on"])
def test_a_bool_that_is_not_true_or_false_is_reported(value):
    error = only_error(Enabled=value)
    assert error.column == "Enabled" and "expected true or false" in error.message


@pytest.mark.parametrize("value", [721, -1, "20m", 2.5, True])
def test_warmup_out_of_range_or_not_whole_minutes_is_reported(value):
    error = only_error(WarmupMinutes=value)
    assert error.column == "WarmupMinutes" and "0-720" in error.message


def test_a_bad_uptime_is_reported_on_uptime():
    error = only_error(Uptime="Mon-Fri 09:00-5pm")
    assert error.column == "Uptime" and "5pm" in error.message


def test_a_bad_downtime_is_reported_on_downtime():
    error = only_error(Uptime=None, Downtime="Sat-Funday 00:00-24:00")
    assert error.column == "Downtime" and "Funday" in error.message


def test_both_uptime_and_downtime_is_reported():
    error = only_error(Downtime="Sat-Sun 00:00-24:00")
    assert error.column == "Uptime/Downtime" and "exactly one" in error.message


def test_neither_uptime_nor_downtime_is_reported():
    error = only_error(Uptime=None)
    assert error.column == "Uptime/Downtime" and "neither" in error.message


def test_an_unknown_time_zone_is_reported_on_timezone_with_a_hint():
    error = only_error(TimeZone="asia/tokyo")
    assert error.column == "TimeZone" and "did you mean 'Asia/Tokyo'" in error.message


def test_an_unknown_holiday_country_is_reported_on_holidays():
    error = only_error(Holidays="XX")
    assert error.column == "Holidays" and "unknown country 'XX'" in error.message


def test_an_unknown_holiday_subdivision_is_reported_on_holidays():
    error = only_error(Holidays="DE-XX")
    assert error.column == "Holidays" and "subdivision" in error.message


def test_bad_closed_dates_are_reported_on_closeddates():
    error = only_error(ClosedDates="2027-01-03..2026-12-29")
    assert error.column == "ClosedDates" and "ends before it starts" in error.message


def test_a_number_where_text_belongs_is_reported():
    error = only_error(Namespaces=5)
    assert (error.column, error.message) == ("Namespaces", "must be text, got int 5")


def test_a_list_where_text_belongs_says_how_to_write_it():
    error = only_error(Namespaces=["a", "b"])
    assert "'a, b'" in error.message


def test_every_bad_column_of_a_row_is_reported_at_once():
    errors = errors_of(Cluster="x", TimeZone="Mars/Olympus", Access="ssh", Extra="1")
    assert {e.column for e in errors} == {"Cluster", "TimeZone", "Access", "Extra"}
    assert all(e.project == "project-b" for e in errors)


def test_a_bad_uptime_is_still_reported_when_the_time_zone_is_bad_too():
    errors = errors_of(TimeZone="Mars/Olympus", Uptime="Mon-Fri 9-5")
    assert [e.column for e in errors] == ["TimeZone", "Uptime"]


# -- many rows, and the way back ------------------------------------------------------------------


def test_a_bad_row_never_stops_the_others():
    loaded = validate_rows([("b-good", row()), ("bad", row(Uptime="Mon-Fri 9-5")), ("a-good", row())])
    assert [p.name for p in loaded.projects] == ["a-good", "b-good"]
    assert [(e.project, e.column) for e in loaded.errors] == [("bad", "Uptime")]
    assert loaded.invalid_names == ("bad",)


def test_project_to_row_round_trips():
    project = row_to_project("project-b", row(Workloads="deployment/a", Exclude="statefulset/b", DryRun=True))
    assert row_to_project("project-b", project_to_row(project)) == project


def test_project_to_row_writes_columns_in_table_order_with_canonical_values():
    written = project_to_row(row_to_project("project-b", row(WarmupMinutes="20", Access="API")))
    assert list(written) == [c for c in COLUMNS if c in written]
    assert written["WarmupMinutes"] == 20 and written["Access"] == "api" and written["Enabled"] is True
    assert "Downtime" not in written and "Workloads" not in written


def test_project_to_row_leaves_out_pool_columns_of_a_project_without_pools():
    written = project_to_row(row_to_project("p", {"Cluster": CLUSTER, "Namespaces": "p", "Uptime": "always"}))
    assert "NodePoolAction" not in written and "WarmupMinutes" not in written


def test_project_to_row_normalises_the_cluster_id():
    project = row_to_project("project-b", row(Cluster=CLUSTER.replace("resourceGroups", "resourcegroups") + "/"))
    assert project_to_row(project)["Cluster"] == CLUSTER
