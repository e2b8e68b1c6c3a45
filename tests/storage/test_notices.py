"""Standing notices are audited once per NOTICE_REPEAT across processes (Table `Locks`, on Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scaling.names import cluster_id
from scaling.plan.actions import Notice, Why
from scaling.reconcile import NoticeMemo
from scaling.storage.notices import NoticeClaims
from scaling.storage.tables import ensure_tables, table_service

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
CLUSTER = cluster_id(
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.ContainerService/managedClusters/aks-demo"
)
NOTICE = Notice(CLUSTER, "deployment/project-a/web", "at 0 with no remembered size", Why("project-a"))


@pytest.fixture
def claims(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    return lambda: NoticeClaims(service, table_names.locks)


def test_three_processes_audit_a_standing_notice_once(claims):
    processes = [NoticeMemo(timedelta(hours=6), shared=claims()) for _ in range(3)]
    due = [memo.due(NOTICE, NOW + timedelta(minutes=i)) for i, memo in enumerate(processes)]
    assert due == [True, False, False]


def test_after_the_repeat_interval_one_process_audits_it_again(claims):
    first, second = NoticeMemo(timedelta(hours=6), shared=claims()), NoticeMemo(timedelta(hours=6), shared=claims())
    assert first.due(NOTICE, NOW)
    assert not second.due(NOTICE, NOW + timedelta(hours=5))
    assert second.due(NOTICE, NOW + timedelta(hours=6, minutes=1))
    assert not first.due(NOTICE, NOW + timedelta(hours=6, minutes=2))


def test_without_the_table_the_notice_is_audited_anyway(settings):
    service = table_service(settings)
    memo = NoticeMemo(shared=NoticeClaims(service, "NoSuchTable"))
    assert memo.due(NOTICE, NOW)
