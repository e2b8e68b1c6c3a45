"""Per-workload opt-outs: aks-hours/exclude, an own aks-hours/uptime, aks-hours/min-replicas."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from scaling.annotations import ORIGINAL_REPLICAS, OWNER
from scaling.override import OverrideAction
from scaling.plan.actions import Direction, Notice, ObjectChange, PoolChange, Result, Trigger, Why
from scaling.plan.decide import Desire, plan, plan_scalable
from scaling.plan.observed import ObservedCluster, ObservedHpa, ObservedPool, PoolSize
from scaling.plan.optouts import autoscaled_workloads, effective_desire, plan_workload
from scaling.plan.pools import encode_original
from tests.fixtures.plan_builders import CLUSTER, deployment, observed, override, pool, project

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday, business hours
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday, after hours
CHRISTMAS_NOON = datetime(2026, 12, 25, 12, 0, tzinfo=BERLIN)  # Friday, a holiday in DE
UP = Desire(True, Why("project-a", reason="business hours"))
DOWN = Desire(False, Why("project-a", reason="outside business hours"))
OVERRIDE_UP = Desire(True, Why("project-a", Trigger.OVERRIDE, "bob@example.com", "demo"))


def plan_one(workload, desire, now, *, targeted=False, autoscaled=False, p=None):
    return plan_workload(
        CLUSTER,
        p or project(),
        workload,
        desire,
        targeted=targeted,
        now=now,
        planner=plan_scalable,
        autoscaled=autoscaled,
    )


# -- exclude -------------------------------------------------------------------------------------------


def test_an_excluded_workload_is_left_alone_without_a_word():
    desire, actions = plan_one(deployment("project-a", "web", 3, excluded=True), DOWN, MONDAY_NIGHT)
    assert actions == []
    assert desire.up, "up, so that autoscalers the app still holds are given back"


def test_an_excluded_workload_at_zero_in_business_hours_is_not_reported():
    assert plan_one(deployment("project-a", "web", 0, excluded=True), UP, MONDAY_NOON)[1] == []


def test_a_workload_excluded_while_scaled_down_gets_its_size_back_even_at_night():
    desire, [change] = plan_one(
        deployment("project-a", "web", 0, original=3, excluded=True, rv="8"), DOWN, MONDAY_NIGHT
    )
    assert desire.up and "aks-hours/exclude" in desire.why.reason
    assert change.patch == {
        "metadata": {"resourceVersion": "8", "annotations": {ORIGINAL_REPLICAS: None, OWNER: None}},
        "spec": {"replicas": 3},
    }


def test_a_misspelt_exclude_is_reported_and_the_workload_left_alone():
    web = deployment(
        "project-a",
        "web",
        3,
        excluded=True,
        annotation_errors=('aks-hours/exclude: "yes" is neither "true" nor "false"; treated as excluded',),
    )
    desire, [notice] = plan_one(web, DOWN, MONDAY_NIGHT)
    assert desire is None and isinstance(notice, Notice) and notice.result is Result.FAILED
    assert "treated as excluded" in notice.message


def test_an_unknown_annotation_does_not_keep_a_remembered_size_from_coming_back_in_the_morning():
    web = deployment("project-a", "web", 0, original=3, annotation_errors=("unknown annotation aks-hours/owner",))
    desire, [notice, restore] = plan_one(web, UP, MONDAY_NOON)
    assert desire is UP and isinstance(notice, Notice) and notice.result is Result.FAILED
    assert isinstance(restore, ObjectChange) and restore.patch["spec"] == {"replicas": 3}


def test_an_unknown_annotation_still_stops_the_scale_down():
    web = deployment("project-a", "web", 3, annotation_errors=("unknown annotation aks-hours/owner",))
    desire, [notice] = plan_one(web, DOWN, MONDAY_NIGHT)
    assert desire is None and isinstance(notice, Notice)


# -- own uptime -----------------------------------------------------------------------------------------


def test_an_own_uptime_keeps_a_workload_up_after_the_projects_hours():
    web = deployment("project-a", "web", 2, own_uptime="Mon-Fri 07:00-23:00")
    desire = effective_desire(project(), web, DOWN, targeted=False, now=MONDAY_NIGHT)
    assert desire.up and "aks-hours/uptime" in desire.why.reason


def test_an_own_uptime_takes_a_workload_down_inside_the_projects_hours():
    web = deployment("project-a", "web", 2, own_uptime="Mon-Fri 06:00-10:00")
    desire, [change] = plan_one(web, UP, MONDAY_NOON)
    assert not desire.up and change.direction is Direction.DOWN and change.patch["spec"] == {"replicas": 0}


def test_an_own_uptime_without_a_zone_is_read_in_the_projects_time_zone():
    web = deployment("project-a", "web", 2, own_uptime="Mon-Fri 21:30-22:30")  # 22:00 Berlin = 21:00 UTC
    assert effective_desire(project(), web, DOWN, targeted=False, now=MONDAY_NIGHT).up


def test_the_projects_holidays_close_an_own_uptime_too():
    web = deployment("project-a", "web", 2, own_uptime="Mon-Sun 00:00-24:00")
    p = project(holidays="DE-BY")
    assert not effective_desire(p, web, UP, targeted=False, now=CHRISTMAS_NOON).up


@pytest.mark.parametrize("targeted", [True, False], ids=["targeted", "project-wide"])
def test_an_override_wins_over_an_own_uptime(targeted):
    web = deployment("project-a", "web", 2, own_uptime="Mon-Fri 06:00-10:00")
    assert effective_desire(project(), web, OVERRIDE_UP, targeted=targeted, now=MONDAY_NOON) == OVERRIDE_UP


def test_an_own_uptime_that_cannot_be_read_is_reported_and_left_alone():
    web = deployment("project-a", "web", 2, own_uptime="Mon-Fri 09:00-18:00 Mars/Olympus")
    desire, [notice] = plan_one(web, DOWN, MONDAY_NIGHT)
    assert desire is None and notice.result is Result.FAILED and notice.cluster == CLUSTER
    assert "aks-hours/uptime" in notice.message and "left alone" in notice.message


# -- min-replicas ---------------------------------------------------------------------------------------


def test_min_replicas_keeps_that_many_at_night_and_remembers_the_size():
    desire, [change] = plan_one(deployment("project-a", "web", 4, min_replicas=1, rv="3"), DOWN, MONDAY_NIGHT)
    assert desire.replicas == 1 and "aks-hours/min-replicas keeps 1" in desire.why.reason
    assert change.patch == {
        "metadata": {"resourceVersion": "3", "annotations": {ORIGINAL_REPLICAS: "4", OWNER: "project-a"}},
        "spec": {"replicas": 1},
    }
    assert change.direction is Direction.DOWN


def test_min_replicas_never_scales_a_workload_up_for_the_night():
    assert plan_one(deployment("project-a", "web", 2, min_replicas=5), DOWN, MONDAY_NIGHT)[1] == []


def test_min_replicas_counts_from_the_remembered_size():
    web = deployment("project-a", "web", 0, original=4, min_replicas=2)
    assert effective_desire(project(), web, DOWN, targeted=False, now=MONDAY_NIGHT).replicas == 2


def test_the_morning_after_min_replicas_restores_the_remembered_size():
    _, [change] = plan_one(deployment("project-a", "web", 1, original=4, min_replicas=1), UP, MONDAY_NOON)
    assert change.patch["spec"] == {"replicas": 4} and change.direction is Direction.UP


def test_a_targeted_down_override_means_zero_despite_min_replicas():
    down = Desire(False, Why("project-a", Trigger.OVERRIDE, "bob@example.com", "maintenance"))
    desire = effective_desire(
        project(), deployment("project-a", "web", 4, min_replicas=1), down, targeted=True, now=MONDAY_NOON
    )
    assert desire == down


def test_min_replicas_applies_under_an_own_uptime_too():
    web = deployment("project-a", "web", 3, own_uptime="Mon-Fri 06:00-10:00", min_replicas=1)
    assert effective_desire(project(), web, UP, targeted=False, now=MONDAY_NOON).replicas == 1


# -- autoscaled workloads -------------------------------------------------------------------------------


def test_an_autoscaled_workload_at_zero_in_business_hours_is_its_autoscalers_business():
    desire, actions = plan_one(deployment("project-a", "consumer", 0), UP, MONDAY_NOON, autoscaled=True)
    assert desire == UP and actions == []


def test_an_autoscaled_workload_is_still_restored_in_the_morning():
    _, [change] = plan_one(deployment("project-a", "web", 0, original=3), UP, MONDAY_NOON, autoscaled=True)
    assert isinstance(change, ObjectChange) and change.patch["spec"] == {"replicas": 3}


def test_workloads_targeted_by_an_hpa_count_as_autoscaled():
    web = deployment("project-a", "web", 2)
    seen = ObservedCluster(CLUSTER, workloads=(web,), hpas=(ObservedHpa("project-a", "web", web.ref, 1, 5, "1"),))
    assert autoscaled_workloads(seen) == {web.ref}


# -- through plan() -------------------------------------------------------------------------------------


def test_a_workload_up_by_its_own_hours_keeps_its_node_pool_up():
    p = project(node_pools=("pa",))
    seen = observed(pool("pa", 2), deployment("project-a", "web", 2, own_uptime="Mon-Fri 07:00-23:00", node_pool="pa"))
    assert plan([p], [], seen, MONDAY_NIGHT) == []


def test_an_excluded_workload_does_not_keep_its_node_pool_up():
    p = project(node_pools=("pa",))
    seen = observed(pool("pa", 2), deployment("project-a", "keep", 2, excluded=True, node_pool="pa"))
    [change] = plan([p], [], seen, MONDAY_NIGHT)
    assert isinstance(change, PoolChange) and change.direction is Direction.DOWN


MONDAY_EARLY = datetime(2026, 11, 30, 5, 40, tzinfo=BERLIN)  # 20 min before a 06:00 own uptime


def night_pool() -> ObservedPool:
    return pool("pa", 0, tags=encode_original(PoolSize(2, False, None, None, "Running")))


def test_a_workloads_own_earlier_hours_bring_its_pool_up_a_warm_up_ahead():
    p = project(node_pools=("pa",), warmup_minutes=30)
    seen = observed(
        night_pool(), deployment("project-a", "early", 0, original=2, own_uptime="Mon-Fri 06:00-18:00", node_pool="pa")
    )
    [change] = plan([p], [], seen, MONDAY_EARLY)
    assert isinstance(change, PoolChange) and change.direction is Direction.UP
    assert "warm-up 30 min: deployment/project-a/early own business hours start 2026-11-30 06:00" in change.why.reason


def test_an_own_uptime_further_off_than_the_warm_up_leaves_the_pool_down():
    p = project(node_pools=("pa",), warmup_minutes=10)
    seen = observed(
        night_pool(), deployment("project-a", "early", 0, original=2, own_uptime="Mon-Fri 06:00-18:00", node_pool="pa")
    )
    assert plan([p], [], seen, MONDAY_EARLY) == []


def test_a_down_override_keeps_the_pool_down_despite_an_own_uptime_starting_soon():
    p = project(node_pools=("pa",), warmup_minutes=30)
    seen = observed(
        night_pool(), deployment("project-a", "early", 0, original=2, own_uptime="Mon-Fri 06:00-18:00", node_pool="pa")
    )
    down = override(action=OverrideAction.DOWN, until=datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN))
    assert plan([p], [down], seen, MONDAY_EARLY) == []


def test_a_workload_dropped_from_the_projects_columns_at_night_gets_its_size_back_once():
    from tests.fixtures.plan_builders import project as make

    p = make(exclude=("deployment/web",))  # the row's Exclude column now names it
    seen = observed(deployment("project-a", "web", 0, original=3))
    [restore] = plan([p], [], seen, MONDAY_NIGHT)
    assert isinstance(restore, ObjectChange) and restore.patch["spec"] == {"replicas": 3}
    assert restore.patch["metadata"]["annotations"] == {ORIGINAL_REPLICAS: None, OWNER: None}
    assert "given back" in restore.why.reason


def test_a_workload_merely_not_listed_by_a_project_sharing_its_namespace_stays_down():
    from tests.fixtures.plan_builders import project as make

    # project-b lists only web; api was held down by another project, now disabled or unloaded
    b = make("project-b", namespaces=("project-a",), workloads=("deployment/web",))
    seen = observed(deployment("project-a", "api", 0, original=3), deployment("project-a", "web", 0, original=2))
    changes = [a for a in plan([b], [], seen, MONDAY_NIGHT) if isinstance(a, ObjectChange)]
    assert changes == []


def test_a_workload_outside_the_projects_columns_without_a_remembered_size_is_not_touched():
    from tests.fixtures.plan_builders import project as make

    p = make(workloads=("deployment/api",))
    seen = observed(deployment("project-a", "web", 0))
    assert not [a for a in plan([p], [], seen, MONDAY_NIGHT) if isinstance(a, ObjectChange)]
