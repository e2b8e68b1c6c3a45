"""Planning for HPAs, KEDA ScaledObjects and CronJobs: held while their workload is held, released exactly."""

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from scaling.annotations import (
    KEDA_PAUSED_REPLICAS,
    ORIGINAL_HPA_MAX,
    ORIGINAL_HPA_MIN,
    ORIGINAL_SUSPEND,
    PAUSED_BY_APP,
)
from scaling.model import WorkloadKind, WorkloadRef
from scaling.override import OverrideAction
from scaling.plan.actions import Direction, Notice, ObjectChange, PoolChange, Result, Trigger, Why
from scaling.plan.autoscalers import (
    RESOURCES,
    TargetPlan,
    plan_autoscalers,
    plan_cronjob,
    plan_cronjobs,
    plan_hpa,
    plan_scaled_object,
    shared_namespaces,
    target_plan,
)
from scaling.plan.decide import Phase, phase_of, plan
from scaling.plan.observed import ObservedCluster, ObservedCronJob, ObservedHpa, ObservedScaledObject
from tests.fixtures.plan_builders import CLUSTER, apply, changes, deployment, override, pool, project

WHY = Why("project-a", reason="outside business hours")
WEB = WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "web")
CONSUMER = WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "consumer")
DOWN = TargetPlan(0, WHY)
FREE = TargetPlan(None, Why("project-a", reason="business hours"))


def hpa(low=2, high=10, *, original=None, rv="7", target=WEB, name="web") -> ObservedHpa:
    omin, omax = original if original else (None, None)
    return ObservedHpa("project-a", name, target, low, high, rv, original_min=omin, original_max=omax)


def scaled(paused=None, *, by_app=False, rv="9", target=CONSUMER) -> ObservedScaledObject:
    return ObservedScaledObject("project-a", "consumer", target, paused, by_app, rv)


def cronjob(suspend=False, *, original=None, active=0, rv="5", namespace="project-a") -> ObservedCronJob:
    return ObservedCronJob(namespace, "nightly", suspend, rv, original_suspend=original, active_jobs=active)


# -- the target's plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("up", "replicas", "hold"),
    [(False, None, 0), (True, None, None), (False, 2, 2), (True, 3, 3), (False, 0, 0)],
    ids=["down", "up", "down-keeping-2", "override-to-3", "override-to-0"],
)
def test_a_target_is_held_at_its_exact_count_or_at_zero_when_down(up, replicas, hold):
    assert target_plan(up=up, replicas=replicas, why=WHY).hold == hold


# -- HPA --------------------------------------------------------------------------------------------------


def test_holding_pins_the_hpa_to_one_and_remembers_min_and_max_in_the_same_patch():
    change = plan_hpa(CLUSTER, hpa(2, 10), DOWN)
    assert isinstance(change, ObjectChange)
    assert (change.resource, change.namespace, change.name) == (
        "horizontalpodautoscalers.autoscaling",
        "project-a",
        "web",
    )
    assert change.patch == {
        "metadata": {"annotations": {ORIGINAL_HPA_MIN: "2", ORIGINAL_HPA_MAX: "10"}},
        "spec": {"minReplicas": 1, "maxReplicas": 1},
    }
    assert (change.before, change.after, change.direction) == ("min=2 max=10", "min=1 max=1", Direction.DOWN)
    assert change.target == "horizontalpodautoscaler/project-a/web" and change.why == WHY


def test_releasing_restores_min_and_max_exactly_and_drops_the_annotations():
    change = plan_hpa(CLUSTER, hpa(1, 1, original=(2, 10)), FREE)
    assert change.patch == {
        "metadata": {"annotations": {ORIGINAL_HPA_MIN: None, ORIGINAL_HPA_MAX: None}},
        "spec": {"minReplicas": 2, "maxReplicas": 10},
    }
    assert (change.before, change.after, change.direction) == ("min=1 max=1", "min=2 max=10", Direction.UP)


def test_an_hpa_that_may_scale_to_zero_is_pinned_to_one_so_the_zero_target_disables_it():
    change = plan_hpa(CLUSTER, hpa(0, 5), DOWN)
    assert change.patch["spec"] == {"minReplicas": 1, "maxReplicas": 1}
    assert change.patch["metadata"]["annotations"] == {ORIGINAL_HPA_MIN: "0", ORIGINAL_HPA_MAX: "5"}


def test_a_workload_kept_at_n_pins_its_hpa_at_n():
    change = plan_hpa(CLUSTER, hpa(2, 10), TargetPlan(3, WHY))
    assert change.patch["spec"] == {"minReplicas": 3, "maxReplicas": 3}


@pytest.mark.parametrize(
    ("observed", "plan"),
    [
        pytest.param(hpa(1, 1, original=(2, 10)), DOWN, id="held-already"),
        pytest.param(hpa(2, 10), FREE, id="free-and-untouched"),
        pytest.param(hpa(3, 3, original=(2, 10)), TargetPlan(3, WHY), id="held-at-3-already"),
    ],
)
def test_nothing_due_for_an_hpa_plans_nothing(observed, plan):
    assert plan_hpa(CLUSTER, observed, plan) is None


def test_an_hpa_changed_during_the_hold_is_pinned_again_keeping_the_first_originals():
    change = plan_hpa(CLUSTER, hpa(4, 20, original=(2, 10)), DOWN)
    assert change.patch == {"spec": {"minReplicas": 1, "maxReplicas": 1}}


@pytest.mark.parametrize("plan", [DOWN, FREE], ids=["hold", "release"])
def test_autoscaler_patches_carry_no_resource_version_their_controllers_status_writes_would_409(plan):
    for change in (
        plan_hpa(CLUSTER, hpa(1, 1, original=(2, 10)) if plan is FREE else hpa(), plan),
        plan_scaled_object(CLUSTER, scaled("0", by_app=True) if plan is FREE else scaled(), plan),
    ):
        assert "resourceVersion" not in change.patch.get("metadata", {})


def test_an_hpa_with_half_its_bookkeeping_is_left_alone_and_reported():
    notice = plan_hpa(CLUSTER, replace(hpa(1, 1), original_min=2), FREE)
    assert isinstance(notice, Notice) and notice.result is Result.FAILED
    assert notice.target == "horizontalpodautoscaler/project-a/web"
    assert ORIGINAL_HPA_MIN in notice.message and "left alone" in notice.message


def test_remembered_values_no_hpa_could_have_are_not_written_back():
    notice = plan_hpa(CLUSTER, hpa(1, 1, original=(5, 3)), FREE)
    assert isinstance(notice, Notice) and notice.result is Result.FAILED and "not a valid HPA" in notice.message


# -- KEDA ScaledObject ------------------------------------------------------------------------------------


def test_holding_pauses_a_scaled_object_at_zero_and_marks_the_pause_as_the_apps():
    change = plan_scaled_object(CLUSTER, scaled(), DOWN)
    assert (change.resource, change.name) == ("scaledobjects.keda.sh", "consumer")
    assert change.patch == {"metadata": {"annotations": {KEDA_PAUSED_REPLICAS: "0", PAUSED_BY_APP: "true"}}}
    assert (change.before, change.after, change.direction) == ("running", "paused at 0", Direction.DOWN)


def test_releasing_lifts_the_apps_pause_and_only_that():
    change = plan_scaled_object(CLUSTER, scaled("0", by_app=True), FREE)
    assert change.patch == {"metadata": {"annotations": {KEDA_PAUSED_REPLICAS: None, PAUSED_BY_APP: None}}}
    assert (change.before, change.after, change.direction) == ("paused at 0", "running", Direction.UP)


def test_a_pause_someone_else_set_is_never_lifted():
    assert plan_scaled_object(CLUSTER, scaled("2"), FREE) is None


def test_a_pause_someone_else_set_at_another_count_is_reported_not_changed():
    notice = plan_scaled_object(CLUSTER, scaled("2"), DOWN)
    assert isinstance(notice, Notice) and "paused by someone else" in notice.message
    assert notice.target == "scaledobject/project-a/consumer"


def test_a_pause_someone_else_set_at_zero_already_holds_it():
    assert plan_scaled_object(CLUSTER, scaled("0"), DOWN) is None


def test_a_workload_kept_at_n_pauses_its_scaled_object_at_n():
    change = plan_scaled_object(CLUSTER, scaled(), TargetPlan(2, WHY))
    assert change.patch["metadata"]["annotations"][KEDA_PAUSED_REPLICAS] == "2"


@pytest.mark.parametrize(
    ("observed", "plan"),
    [
        pytest.param(scaled("0", by_app=True), DOWN, id="paused-already"),
        pytest.param(scaled(), FREE, id="running-and-free"),
    ],
)
def test_nothing_due_for_a_scaled_object_plans_nothing(observed, plan):
    assert plan_scaled_object(CLUSTER, observed, plan) is None


def test_the_apps_pause_removed_by_hand_during_the_hold_is_set_again():
    change = plan_scaled_object(CLUSTER, scaled(None, by_app=True), DOWN)
    assert change.patch["metadata"]["annotations"] == {KEDA_PAUSED_REPLICAS: "0", PAUSED_BY_APP: "true"}


# -- both autoscalers, by target ---------------------------------------------------------------------------


def cluster_with(*, hpas=(), scaled_objects=(), cronjobs=(), keda=True) -> ObservedCluster:
    return ObservedCluster(
        CLUSTER,
        hpas=tuple(hpas),
        scaled_objects=tuple(scaled_objects),
        cronjobs=tuple(cronjobs),
        keda_installed=keda,
    )


def test_autoscalers_follow_the_plan_of_their_own_target():
    seen = cluster_with(hpas=[hpa()], scaled_objects=[scaled()])
    actions = plan_autoscalers(CLUSTER, seen, {WEB: DOWN, CONSUMER: FREE})
    assert [a.target for a in actions] == ["horizontalpodautoscaler/project-a/web"]


def test_autoscalers_of_workloads_the_planner_did_not_decide_on_are_left_alone():
    seen = cluster_with(hpas=[hpa()], scaled_objects=[scaled()])
    assert plan_autoscalers(CLUSTER, seen, {}) == []


def test_the_hpa_keda_made_for_a_scaled_object_is_left_to_keda():
    keda_hpa = hpa(1, 100, target=CONSUMER, name="keda-hpa-consumer")
    seen = cluster_with(hpas=[keda_hpa], scaled_objects=[scaled()])
    actions = plan_autoscalers(CLUSTER, seen, {CONSUMER: DOWN})
    assert [a.target for a in actions] == ["scaledobject/project-a/consumer"]


def test_a_cluster_without_keda_plans_only_its_hpas():
    seen = cluster_with(hpas=[hpa()], keda=False)
    assert [a.target for a in plan_autoscalers(CLUSTER, seen, {WEB: DOWN, CONSUMER: DOWN})] == [
        "horizontalpodautoscaler/project-a/web"
    ]


# -- CronJobs ----------------------------------------------------------------------------------------------


def test_going_down_suspends_a_cronjob_and_remembers_it_was_not_suspended():
    [change] = plan_cronjob(CLUSTER, cronjob(rv="21"), up=False, why=WHY)
    assert (change.resource, change.target) == ("cronjobs.batch", "cronjob/project-a/nightly")
    assert change.patch == {
        "metadata": {"resourceVersion": "21", "annotations": {ORIGINAL_SUSPEND: "false"}},
        "spec": {"suspend": True},
    }
    assert (change.before, change.after, change.direction) == ("suspend=false", "suspend=true", Direction.DOWN)


def test_going_up_restores_suspend_exactly_and_drops_the_annotation():
    [change] = plan_cronjob(CLUSTER, cronjob(True, original=False, rv="22"), up=True, why=WHY)
    assert change.patch == {
        "metadata": {"resourceVersion": "22", "annotations": {ORIGINAL_SUSPEND: None}},
        "spec": {"suspend": False},
    }
    assert change.direction is Direction.UP


def test_a_cronjob_its_team_suspended_stays_suspended_all_along():
    assert plan_cronjob(CLUSTER, cronjob(True), up=False, why=WHY) == []
    assert plan_cronjob(CLUSTER, cronjob(True), up=True, why=WHY) == []


def test_a_cronjob_unsuspended_by_hand_at_night_is_suspended_again_keeping_the_first_original():
    [change] = plan_cronjob(CLUSTER, cronjob(False, original=False, rv="23"), up=False, why=WHY)
    assert change.patch == {"metadata": {"resourceVersion": "23"}, "spec": {"suspend": True}}


def test_running_jobs_are_left_to_finish_and_reported_when_the_cronjob_is_suspended():
    change, notice = plan_cronjob(CLUSTER, cronjob(active=2), up=False, why=WHY)
    assert isinstance(change, ObjectChange) and isinstance(notice, Notice)
    assert notice.result is Result.SKIPPED and notice.target == "cronjob/project-a/nightly"
    assert "2 Job(s) still running" in notice.message


@pytest.mark.parametrize(("suspend", "original", "up"), [(True, False, False), (False, None, True)])
def test_nothing_due_for_a_cronjob_plans_nothing(suspend, original, up):
    assert plan_cronjob(CLUSTER, cronjob(suspend, original=original), up=up, why=WHY) == []


def test_only_the_cronjobs_of_the_projects_namespaces_are_planned():
    seen = cluster_with(cronjobs=[cronjob(), cronjob(namespace="project-b")])
    actions = plan_cronjobs(project(), up=False, seen=seen, why=WHY)
    assert [a.target for a in actions] == ["cronjob/project-a/nightly"]


def test_cronjobs_of_a_namespace_two_projects_claim_are_left_alone_and_reported():
    a = project("project-a", namespaces=("shared",), workloads=["deployment/web"])
    b = project("project-b", namespaces=("shared",), workloads=["deployment/api"])
    shared = shared_namespaces([a, b])
    assert shared == {"shared": ("project-a", "project-b")}
    seen = cluster_with(cronjobs=[cronjob(namespace="shared")])
    [notice] = plan_cronjobs(a, up=False, seen=seen, why=WHY, shared=shared)
    assert isinstance(notice, Notice) and notice.result is Result.FAILED
    assert "project-a, project-b" in notice.message


def test_a_cronjob_change_says_who_asked():
    why = Why("project-a", Trigger.OVERRIDE, "bob@example.com", "cost review")
    [change] = plan_cronjob(CLUSTER, cronjob(), up=False, why=why)
    assert change.why == why


# -- through plan(): order, opt-outs, and a whole night ------------------------------------------------------

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY_NOON = datetime(2026, 11, 30, 12, 0, tzinfo=BERLIN)  # Monday, business hours
MONDAY_NIGHT = datetime(2026, 11, 30, 22, 0, tzinfo=BERLIN)  # Monday, after hours


def night_cluster(*workloads, hpas=(), scaled_objects=(), cronjobs=(), pools=()):
    return {
        CLUSTER: ObservedCluster(
            CLUSTER,
            workloads=tuple(workloads),
            pools=tuple(pools),
            hpas=tuple(hpas),
            scaled_objects=tuple(scaled_objects),
            cronjobs=tuple(cronjobs),
            keda_installed=True,
        )
    }


def apply_everything(state, actions):
    """`apply` from plan_builders, plus the merge patches to HPAs, ScaledObjects and CronJobs."""
    state = apply(state, [a for a in actions if not (isinstance(a, ObjectChange) and a.resource in RESOURCES)])
    seen = state[CLUSTER]
    for change in changes(actions):
        if not isinstance(change, ObjectChange) or change.resource not in RESOURCES:
            continue
        meta, spec = change.patch.get("metadata", {}), change.patch.get("spec", {})
        notes = meta.get("annotations", {})

        def bump(obj, meta=meta):
            assert meta.get("resourceVersion", obj.resource_version) == obj.resource_version, "stale write"
            return str(int(obj.resource_version) + 1)

        def note(key, current, convert, notes=notes):
            return current if key not in notes else (None if notes[key] is None else convert(notes[key]))

        if change.resource == "horizontalpodautoscalers.autoscaling":
            seen = replace(
                seen,
                hpas=tuple(
                    replace(
                        h,
                        min_replicas=spec["minReplicas"],
                        max_replicas=spec["maxReplicas"],
                        resource_version=bump(h),
                        original_min=note(ORIGINAL_HPA_MIN, h.original_min, int),
                        original_max=note(ORIGINAL_HPA_MAX, h.original_max, int),
                    )
                    if h.name == change.name
                    else h
                    for h in seen.hpas
                ),
            )
        elif change.resource == "scaledobjects.keda.sh":
            seen = replace(
                seen,
                scaled_objects=tuple(
                    replace(
                        s,
                        paused_replicas=note(KEDA_PAUSED_REPLICAS, s.paused_replicas, str),
                        paused_by_app=bool(note(PAUSED_BY_APP, s.paused_by_app, lambda v: v == "true")),
                        resource_version=bump(s),
                    )
                    if s.name == change.name
                    else s
                    for s in seen.scaled_objects
                ),
            )
        else:
            seen = replace(
                seen,
                cronjobs=tuple(
                    replace(
                        c,
                        suspend=spec["suspend"],
                        resource_version=bump(c),
                        original_suspend=note(ORIGINAL_SUSPEND, c.original_suspend, lambda v: v == "true"),
                    )
                    if c.name == change.name
                    else c
                    for c in seen.cronjobs
                ),
            )
    return {**state, CLUSTER: seen}


def as_found(state):
    """The cluster without resource versions (each write moves them on): what a person would compare."""
    seen = state[CLUSTER]

    def clean(items):
        return tuple(replace(i, resource_version="-") for i in items)

    return replace(
        seen,
        workloads=clean(seen.workloads),
        hpas=clean(seen.hpas),
        scaled_objects=clean(seen.scaled_objects),
        cronjobs=clean(seen.cronjobs),
    )


def test_going_down_holds_autoscalers_after_the_workloads_and_before_the_pools():
    seen = night_cluster(
        deployment("project-a", "web", 3),
        deployment("project-a", "consumer", 2),
        hpas=[hpa()],
        scaled_objects=[scaled()],
        cronjobs=[cronjob()],
        pools=[pool("pa", 2)],
    )
    actions = plan([project(node_pools=("pa",))], [], seen, MONDAY_NIGHT)
    assert [(phase_of(a), a.target) for a in actions] == [
        (Phase.WORKLOADS_DOWN, "deployment/project-a/consumer"),
        (Phase.WORKLOADS_DOWN, "deployment/project-a/web"),
        (Phase.AUTOSCALERS_DOWN, "cronjob/project-a/nightly"),
        (Phase.AUTOSCALERS_DOWN, "horizontalpodautoscaler/project-a/web"),
        (Phase.AUTOSCALERS_DOWN, "scaledobject/project-a/consumer"),
        (Phase.POOLS_DOWN, "nodepool/pa"),
    ]


def test_going_up_releases_autoscalers_after_the_pools_and_before_the_workloads():
    p = project(node_pools=("pa",))
    day = night_cluster(
        deployment("project-a", "web", 3),
        deployment("project-a", "consumer", 2),
        hpas=[hpa()],
        scaled_objects=[scaled()],
        cronjobs=[cronjob()],
        pools=[pool("pa", 2)],
    )
    night = apply_everything(day, plan([p], [], day, MONDAY_NIGHT))
    actions = plan([p], [], night, MONDAY_NOON + timedelta(days=1))
    assert [phase_of(a) for a in actions] == [
        Phase.POOLS_UP,
        Phase.AUTOSCALERS_UP,
        Phase.AUTOSCALERS_UP,
        Phase.AUTOSCALERS_UP,
        Phase.WORKLOADS_UP,
        Phase.WORKLOADS_UP,
    ]
    assert as_found(apply_everything(night, actions)) == as_found(day)  # exactly as it was, bookkeeping gone


def test_an_excluded_workloads_hpa_is_left_alone():
    seen = night_cluster(deployment("project-a", "web", 3, excluded=True), hpas=[hpa()])
    assert plan([project()], [], seen, MONDAY_NIGHT) == []


def test_a_workload_kept_at_one_overnight_pins_its_hpa_at_one_and_keeps_its_pool_up():
    seen = night_cluster(
        deployment("project-a", "web", 3, min_replicas=1, node_pool="pa"), hpas=[hpa()], pools=[pool("pa", 2)]
    )
    actions = plan([project(node_pools=("pa",))], [], seen, MONDAY_NIGHT)
    assert [a.target for a in changes(actions)] == ["deployment/project-a/web", "horizontalpodautoscaler/project-a/web"]
    assert not any(isinstance(a, PoolChange) for a in actions)


def test_a_replicas_override_pins_the_hpa_at_that_count_until_it_expires():
    until = MONDAY_NOON + timedelta(hours=2)
    o = override(action=OverrideAction.REPLICAS, target=WEB, replicas=5, until=until)
    day = night_cluster(deployment("project-a", "web", 3), hpas=[hpa()])
    during = apply_everything(day, plan([project()], [o], day, MONDAY_NOON))
    assert during[CLUSTER].hpas[0].min_replicas == during[CLUSTER].hpas[0].max_replicas == 5
    after = apply_everything(during, plan([project()], [o], during, until))
    assert as_found(after) == as_found(day)


def test_a_workload_claimed_by_two_projects_keeps_its_autoscalers_untouched():
    a = project("project-a", namespaces=("project-a",))
    b = project("project-b", namespaces=("project-a",))
    seen = night_cluster(deployment("project-a", "web", 3), hpas=[hpa()])
    assert not changes(plan([a, b], [], seen, MONDAY_NIGHT))


def test_a_simulated_night_holds_everything_down_and_restores_it_exactly():
    p = project(node_pools=("pa",))
    day = night_cluster(
        deployment("project-a", "web", 3),
        deployment("project-a", "consumer", 2),
        deployment("project-a", "keep", 2, excluded=True),
        hpas=[hpa()],
        scaled_objects=[scaled()],
        cronjobs=[cronjob()],
        pools=[pool("pa", 2)],
    )
    state, writes = day, []
    at = datetime(2026, 11, 30, 17, 0, tzinfo=BERLIN)  # Monday 17:00 to Tuesday 10:00, every 5 minutes
    while at <= datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN):
        actions = plan([p], [], state, at)
        writes += [(at.strftime("%H:%M"), a.target) for a in changes(actions)]
        state = apply_everything(state, actions)
        if datetime(2026, 11, 30, 18, 0, tzinfo=BERLIN) <= at < datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN):
            seen = state[CLUSTER]
            assert [w.replicas for w in seen.workloads] == [0, 0, 2]  # web, consumer, keep (excluded)
            assert seen.hpas[0].max_replicas == 1 and seen.scaled_objects[0].paused_replicas == "0"
            assert seen.cronjobs[0].suspend and seen.pools[0].size.count == 0
        at += timedelta(minutes=5)
    assert {t for t, _ in writes} == {"18:00", "09:00"}, "one write each way, nothing in between"
    assert as_found(state) == as_found(day)


@pytest.mark.parametrize("up", [True, False], ids=["up", "down"])
def test_a_cronjob_with_a_garbled_original_is_reported_and_left_alone(up):
    garbled = replace(cronjob(suspend=True), annotation_errors=("aks-hours/original-suspend is 'no'",))
    [notice] = plan_cronjob(CLUSTER, garbled, up=up, why=WHY)
    assert isinstance(notice, Notice) and notice.result is Result.FAILED
    assert "original-suspend" in notice.message


def test_a_workload_whose_scaled_object_someone_else_paused_is_left_alone_instead_of_flapping():
    from scaling.plan.decide import plan
    from scaling.plan.observed import ObservedCluster, ObservedScaledObject
    from tests.fixtures.plan_builders import deployment, project

    web = deployment("project-a", "consumer", 2, node_pool="pa")
    paused = ObservedScaledObject("project-a", "consumer", web.ref, "2", False, "1")
    seen = {CLUSTER: ObservedCluster(CLUSTER, workloads=(web,), scaled_objects=(paused,))}
    night = datetime(2026, 11, 30, 22, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    (notice,) = plan([project()], [], seen, night)
    assert isinstance(notice, Notice) and "paused by someone else at '2'" in notice.message
    assert notice.target == "deployment/project-a/consumer"
