"""The audit trail of a mass tick is complete: one row per change, every row written before the tick returns."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bench.scale_world import Fleet
from emulator.config import Config
from emulator.server import Emulator
from scaling.plan.actions import Result
from scaling.storage.rows import validate_rows
from tests.fixtures.emulator import TEST_DELAYS
from tests.fixtures.reconcile_world import World

pytestmark = pytest.mark.integration
FLEET = Fleet(clusters=1, projects_per_cluster=30, deployments_per_project=10, pools_per_cluster=1)  # 300
DOWN = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday 19:00 Berlin: every project goes down


@pytest.fixture(scope="module")
def mass_emulator():
    with Emulator(Config.from_mapping(FLEET.emulator_config()), delays=TEST_DELAYS) as running:
        yield running


def test_every_change_of_a_mass_tick_has_exactly_one_audit_row_written_before_the_tick_returns(
    settings, table_names, mass_emulator
):
    world = World.build(settings, table_names, mass_emulator, validate_rows(FLEET.project_rows("api")).projects)
    report = world.tick(DOWN)
    assert len(report.changes) == FLEET.deployments and {o.result for o in report.changes} == {Result.OK}
    rows = [r for r in world.audit(since=DOWN - timedelta(minutes=1), until=DOWN + timedelta(minutes=1))]
    scale_rows = Counter(r.target for r in rows if r.tick == report.tick_id and r.action == "scale-down")
    assert len(scale_rows) == FLEET.deployments and set(scale_rows.values()) == {1}
    assert report.audit_rows == len([r for r in rows if r.tick == report.tick_id])
    assert report.audit_pending == 0 and report.audit_error is None
