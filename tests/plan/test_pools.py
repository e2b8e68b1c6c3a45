"""The planner on node pools: zero, stop, none, System pools, busy pools, shared pools, bookkeeping tags."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from scaling.annotations import (
    TAG_ORIGINAL_AUTOSCALING,
    TAG_ORIGINAL_COUNT,
    TAG_ORIGINAL_MAX,
    TAG_ORIGINAL_MIN,
    TAG_ORIGINAL_POWER,
    TAG_OWNER,
)
from scaling.model import NodePoolAction
from scaling.plan.actions import Direction, Notice, PoolChange, Result
from scaling.plan.decide import plan
from scaling.plan.observed import PoolSize
from scaling.plan.pools import decode_original, encode_original
from tests.fixtures.plan_builders import apply, observed, pool, project

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday
REMEMBERED = {
    TAG_ORIGINAL_COUNT: "2",
    TAG_ORIGINAL_AUTOSCALING: "true",
    TAG_ORIGINAL_MIN: "1",
    TAG_ORIGINAL_MAX: "5",
    TAG_ORIGINAL_POWER: "Running",
}


def only(actions):
    assert len(actions) == 1, actions
    return actions[0]


def test_zero_turns_the_autoscaler_off_sets_count_zero_and_tags_the_original_in_the_same_put():
    p = project(node_pools=("gpu",))
    gpu = pool("gpu", 2, auto=True, low=1, high=5, tags={"team": "ml"})
    change = only(plan([p], [], observed(gpu), MONDAY_NIGHT))
    assert isinstance(change, PoolChange) and change.direction is Direction.DOWN
    assert change.before == PoolSize(2, True, 1, 5)
    assert change.after == PoolSize(0, False, None, None)
    assert change.tags == {"team": "ml", **REMEMBERED, TAG_OWNER: "project-a"}  # whose it was, for a release


def test_zero_restores_exactly_and_drops_only_the_bookkeeping_tags():
    p = project(node_pools=("gpu",))
    gpu = pool("gpu", 0, tags={"team": "ml", **REMEMBERED})
    change = only(plan([p], [], observed(gpu), MONDAY_NOON))
    assert change.direction is Direction.UP
    assert change.after == PoolSize(2, True, 1, 5, "Running")
    assert change.tags == {"team": "ml"}


def test_stop_sets_power_stopped_with_the_same_bookkeeping_and_start_restores_running():
    p = project(node_pools=("pa",), node_pool_action=NodePoolAction.STOP)
    seen = observed(pool("pa", 3))
    stop = only(plan([p], [], seen, MONDAY_NIGHT))
    assert stop.after == PoolSize(3, False, None, None, "Stopped")
    assert stop.tags[TAG_ORIGINAL_POWER] == "Running" and stop.tags[TAG_ORIGINAL_COUNT] == "3"
    start = only(plan([p], [], apply(seen, [stop]), MONDAY_NOON))
    assert start.after == PoolSize(3, False, None, None, "Running") and start.tags == {}


def test_none_leaves_the_pool_to_its_autoscaler():
    p = project(node_pools=("pa",), node_pool_action=NodePoolAction.NONE)
    assert plan([p], [], observed(pool("pa", 3, auto=True, low=0, high=3)), MONDAY_NIGHT) == []


def test_a_system_pool_is_never_touched_and_its_listing_is_reported():
    p = project(node_pools=("system",))
    notice = only(plan([p], [], observed(pool("system", 1, mode="System")), MONDAY_NIGHT))
    assert isinstance(notice, Notice) and "System" in notice.message


def test_a_pool_listed_by_two_projects_is_reported_for_both_and_not_touched():
    a = project("project-a", node_pools=("pa",))
    b = project("project-b", namespaces=("b",), node_pools=("pa",), uptime="always")
    actions = plan([a, b], [], observed(pool("pa", 2)), MONDAY_NIGHT)
    assert all(isinstance(n, Notice) and n.result is Result.FAILED for n in actions)
    assert sorted(n.why.project for n in actions) == ["project-a", "project-b"]


def test_a_busy_pool_with_a_change_due_is_reported_busy_for_the_next_tick():
    p = project(node_pools=("pa",))
    notice = only(plan([p], [], observed(pool("pa", 2, state="Updating")), MONDAY_NIGHT))
    assert notice.result is Result.BUSY and "Updating" in notice.message


def test_a_busy_pool_already_heading_where_it_should_is_left_quietly():
    # ARM reports the requested size while the PUT we started is still running.
    p = project(node_pools=("pa",))
    after_put = pool("pa", 0, state="Updating", tags=REMEMBERED)
    assert plan([p], [], observed(after_put), MONDAY_NIGHT) == []


def test_a_pool_scaled_up_by_hand_during_downtime_goes_back_to_zero_keeping_its_tags():
    p = project(node_pools=("pa",))
    change = only(plan([p], [], observed(pool("pa", 4, tags=REMEMBERED)), MONDAY_NIGHT))
    assert change.after.count == 0 and change.tags == REMEMBERED


def test_a_pool_at_zero_in_business_hours_without_tags_is_left_alone_and_reported():
    p = project(node_pools=("pa",))
    notice = only(plan([p], [], observed(pool("pa", 0)), MONDAY_NOON))
    assert notice.result is Result.SKIPPED and "no remembered size" in notice.message


def test_a_pool_listed_but_missing_is_reported():
    notice = only(plan([project(node_pools=("gpu",))], [], observed(), MONDAY_NIGHT))
    assert notice.target == "nodepool/gpu" and "not found" in notice.message


def test_unreadable_bookkeeping_tags_leave_the_pool_alone_with_a_failed_notice():
    gpu = pool("gpu", 0, tags={TAG_ORIGINAL_COUNT: "many", TAG_ORIGINAL_AUTOSCALING: "false"})
    notice = only(plan([project(node_pools=("gpu",))], [], observed(gpu), MONDAY_NOON))
    assert notice.result is Result.FAILED and "many" in notice.message


@pytest.mark.parametrize(
    "size",
    [PoolSize(3, False, None, None), PoolSize(0, True, 0, 10), PoolSize(2, True, 1, 5, "Stopped")],
    ids=["manual", "autoscaled-from-zero", "stopped"],
)
def test_bookkeeping_tags_round_trip(size):
    assert decode_original(encode_original(size)) == (size, ())


@pytest.mark.parametrize(
    ("tags", "error"),
    [
        ({TAG_ORIGINAL_AUTOSCALING: "true"}, "missing"),
        ({TAG_ORIGINAL_COUNT: "-1", TAG_ORIGINAL_AUTOSCALING: "true"}, "not a non-negative integer"),
        ({TAG_ORIGINAL_COUNT: "1", TAG_ORIGINAL_AUTOSCALING: "yes"}, "not 'true' or 'false'"),
        ({TAG_ORIGINAL_COUNT: "1", TAG_ORIGINAL_AUTOSCALING: "true", TAG_ORIGINAL_POWER: "Off"}, "'Running'"),
        ({TAG_ORIGINAL_COUNT: "3", TAG_ORIGINAL_AUTOSCALING: "true", TAG_ORIGINAL_MIN: "1"}, "both needed"),
        ({TAG_ORIGINAL_COUNT: "\u00b2", TAG_ORIGINAL_AUTOSCALING: "false"}, "not a non-negative integer"),
        (
            {TAG_ORIGINAL_COUNT: "3", TAG_ORIGINAL_AUTOSCALING: "true", TAG_ORIGINAL_MIN: "5", TAG_ORIGINAL_MAX: "2"},
            "is above",
        ),
    ],
    ids=[
        "no-count",
        "negative",
        "bad-bool",
        "bad-power",
        "autoscale-without-max",
        "superscript-digit",
        "min-above-max",
    ],
)
def test_bad_bookkeeping_tags_are_errors_not_sizes(tags, error):
    size, errors = decode_original(tags)
    assert size is None and any(error in e for e in errors)


def test_an_autoscaled_pools_count_is_restored_within_bounds_edited_since():
    tags = {TAG_ORIGINAL_COUNT: "7", TAG_ORIGINAL_AUTOSCALING: "true", TAG_ORIGINAL_MIN: "1", TAG_ORIGINAL_MAX: "4"}
    assert decode_original(tags) == (PoolSize(4, True, 1, 4), ())


def test_a_pool_whose_last_operation_failed_is_reported_when_nothing_else_is_due():
    gpu = pool("gpu", 3, state="Failed")
    notice = only(plan([project(node_pools=("gpu",))], [], observed(gpu), MONDAY_NOON))
    assert notice.result is Result.FAILED and "last operation failed" in notice.message


def test_a_pool_switched_to_action_none_while_held_down_gets_its_size_back_once():
    gpu = pool("gpu", 0, tags={**REMEMBERED})
    change = only(
        plan([project(node_pools=("gpu",), node_pool_action=NodePoolAction.NONE)], [], observed(gpu), MONDAY_NIGHT)
    )
    assert isinstance(change, PoolChange) and change.direction is Direction.UP
    assert change.after == decode_original(REMEMBERED)[0] and "given back" in change.why.reason


def test_a_pool_with_action_none_and_no_remembered_size_is_never_touched():
    gpu = pool("gpu", 0)
    assert (
        plan([project(node_pools=("gpu",), node_pool_action=NodePoolAction.NONE)], [], observed(gpu), MONDAY_NIGHT)
        == []
    )
