"""The audit trail: rows from outcomes, keys, batched writes and range queries against a real Azurite."""

from datetime import UTC, datetime, timedelta

import pytest

from scaling.plan.actions import Direction, Notice, ObjectChange, Outcome, PoolChange, Result, Trigger, Why
from scaling.plan.observed import PoolSize
from scaling.storage.audit import AuditError, AuditRow, AuditStore, row_for
from scaling.storage.tables import ensure_tables, table_service
from tests.fixtures.plan_builders import CLUSTER

UTC = UTC
T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday


def web_change(why: Why | None = None) -> ObjectChange:
    return ObjectChange(
        CLUSTER,
        "deployments.apps",
        "project-a",
        "web",
        {},
        "3",
        "0",
        Direction.DOWN,
        why or Why("project-a", reason="outside business hours"),
    )


def row(minute: int, project: str = "project-a", *, day: int = 0, seq: int = 0) -> AuditRow:
    return AuditRow(
        time=T0 + timedelta(days=day, minutes=minute),
        project=project,
        target="deployment/a/web",
        action="scale-down",
        result=Result.OK,
        tick=f"t{minute}",
        sequence=seq,
    )


# -- rows ---------------------------------------------------------------------------------------------


def test_a_workload_change_becomes_a_row_with_who_what_from_to_and_why():
    why = Why("project-a", Trigger.OVERRIDE, "alice@example.com", "demo")
    r = row_for(Outcome(web_change(why), Result.OK, duration_ms=12), time=T0, tick="abc", sequence=3)
    assert (r.project, r.cluster, r.target, r.action) == (
        "project-a",
        str(CLUSTER),
        "deployment/project-a/web",
        "scale-down",
    )
    assert (r.from_, r.to, r.trigger, r.actor, r.reason) == ("3", "0", "override", "alice@example.com", "demo")
    assert (r.result, r.duration_ms, r.tick) == (Result.OK, 12, "abc")


def test_a_pool_change_row_shows_the_sizes():
    change = PoolChange(
        CLUSTER, "gpu", PoolSize(2, True, 1, 5), PoolSize(0, False, None, None), {}, Direction.DOWN, Why("project-b")
    )
    r = row_for(Outcome(change, Result.DRY_RUN), time=T0, tick="t", sequence=0)
    assert (r.target, r.from_, r.to, r.result) == ("nodepool/gpu", "2 (autoscale 1-5)", "0", Result.DRY_RUN)


def test_a_notice_row_carries_its_message():
    notice = Notice(CLUSTER, "nodepool/system", "System-mode pool listed", Why("project-a"))
    r = row_for(Outcome(notice, Result.SKIPPED), time=T0, tick="t", sequence=0)
    assert r.action == "report" and r.reason.startswith("System-mode pool listed")


def test_secrets_in_error_texts_never_reach_a_row():
    error = "PUT failed: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.abc.def; AccountKey=c2VjcmV0"
    r = row_for(Outcome(web_change(), Result.FAILED, error=error), time=T0, tick="t", sequence=0)
    assert "eyJhbGci" not in r.error and "c2VjcmV0" not in r.error


def test_row_keys_sort_newest_first():
    assert row(10).row_key < row(5).row_key < row(0).row_key


def test_each_row_lives_once_in_its_utc_day():
    assert row(0, day=1).partition == "day-20261201"


# -- the table ----------------------------------------------------------------------------------------


@pytest.fixture
def store(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    return AuditStore(service, table_names.audit)


@pytest.mark.integration
def test_rows_round_trip_through_the_table(store):
    original = row_for(
        Outcome(web_change(), Result.FAILED, error="409 Conflict", duration_ms=5), time=T0, tick="abc", sequence=1
    )
    store.write([original])
    assert store.query(project="project-a") == ([original], None)


@pytest.mark.integration
def test_the_latest_rows_of_one_project_come_newest_first(store):
    store.write([row(m) for m in (0, 5, 10)] + [row(7, "project-b")])
    rows, _ = store.query(project="project-a", limit=2)
    assert [r.time.minute for r in rows] == [10, 5]


@pytest.mark.integration
def test_everything_of_one_day_across_projects(store):
    store.write([row(0), row(1, "project-b"), row(2, day=1)])
    rows, _ = store.query(since=T0, until=T0 + timedelta(days=1))
    assert [(r.project, r.time.minute) for r in rows] == [("project-b", 1), ("project-a", 0)]


@pytest.mark.integration
def test_since_is_inclusive_and_until_exclusive(store):
    store.write([row(m) for m in (0, 5, 10)])
    rows, _ = store.query(project="project-a", since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=10))
    assert [r.time.minute for r in rows] == [5]


@pytest.mark.integration
def test_pages_continue_across_days_without_gaps_or_repeats(store):
    written = [row(m, day=d) for d in range(3) for m in (0, 30)]
    store.write(written)
    seen, token = [], None
    while True:
        rows, token = store.query(since=T0, until=T0 + timedelta(days=3), limit=4, continuation=token)
        seen += rows
        if token is None:
            break
    assert [r.row_key for r in seen] == sorted(r.row_key for r in written)


@pytest.mark.integration
def test_rows_are_written_in_transactions_of_at_most_100_per_partition(store):
    rows = [row(0, seq=i) for i in range(250)]
    assert store.write(rows) == 3  # one row each, in its day
    assert len(store.query(project="project-a", limit=1000)[0]) == 250


@pytest.mark.integration
def test_a_row_the_service_refuses_does_not_keep_the_other_rows_of_its_transaction_from_being_written(store):
    from dataclasses import replace

    from azure.core.exceptions import HttpResponseError

    too_big = replace(row(0, "project-a"), actor="x" * 70_000)  # over the 64 KiB a property may hold
    # One day's rows share a partition: give each its own key, as a tick's sequence does.
    others = [row(1, p, seq=n) for n, p in enumerate(("project-b", "project-c", "project-d", "project-e"), 1)]
    with pytest.raises(HttpResponseError):
        store.write([too_big, *others])
    for project in ("project-b", "project-c", "project-d", "project-e"):
        assert len(store.query(project=project)[0]) == 1


@pytest.mark.integration
def test_writing_the_same_rows_again_does_not_duplicate_them(store):
    rows = [row(0, seq=i) for i in range(3)]
    store.write(rows)
    store.write(rows)
    assert len(store.query(project="project-a")[0]) == 3


@pytest.mark.integration
def test_a_foreign_continuation_is_refused(store):
    with pytest.raises(AuditError, match="continuation"):
        store.query(project="project-a", continuation="bm9wZQ==")


@pytest.mark.integration
@pytest.mark.parametrize("token", ["NQ==", "bnVsbA==", "WyJhIl0=", "eyJhIjogMX0="], ids=["5", "null", "one", "object"])
def test_a_continuation_holding_json_other_than_ours_is_refused(store, token):
    with pytest.raises(AuditError, match="continuation is not one this API returned"):
        store.query(project="project-a", continuation=token)


def test_a_query_without_project_over_more_than_a_year_of_day_partitions_is_refused(settings, table_names):
    from datetime import datetime

    from scaling.storage.audit import AuditError, AuditStore
    from scaling.storage.tables import ensure_tables, table_service

    service = table_service(settings)
    ensure_tables(service, table_names)
    store = AuditStore(service, table_names.audit)
    with pytest.raises(AuditError, match="at most 366 days"):
        store.query(since=datetime(1, 1, 1, tzinfo=UTC), until=datetime(2026, 11, 25, tzinfo=UTC))


@pytest.mark.integration
def test_a_project_pages_newest_first_across_days_far_apart_without_gaps_or_repeats(store):
    mine = [row(0, day=d, seq=n) for n, d in enumerate((0, -3, -40, -400))]
    store.write(mine + [row(5, "project-b", day=-3, seq=99)])
    seen, token = [], None
    while True:
        rows, token = store.query(project="project-a", limit=1, continuation=token, now=T0 + timedelta(days=1))
        seen += rows
        if token is None:
            break
    assert seen == sorted(mine, key=lambda r: r.time, reverse=True)
