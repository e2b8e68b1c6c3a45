"""Planner properties over random clusters: a second plan after applying the first changes nothing, and
going down then up restores every workload and pool exactly."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scaling.model import NodePoolAction, WorkloadKind, WorkloadRef
from scaling.override import OverrideAction
from scaling.plan.decide import plan
from scaling.plan.observed import PoolSize
from scaling.plan.pools import encode_original
from tests.fixtures.plan_builders import apply, changes, deployment, observed, override, pool, project

UTC = UTC
WEEK_START = datetime(2026, 11, 30, tzinfo=UTC)  # Monday
SCHEDULES = [
    dict(uptime="Mon-Fri 09:00-18:00", timezone="Europe/Berlin"),
    dict(uptime="Mon-Fri 22:00-06:00", timezone="America/New_York"),
    dict(uptime="always", timezone="UTC"),
    dict(uptime=None, downtime="Sat-Sun 00:00-24:00", timezone="Asia/Tokyo"),
]
NAMES = ["web", "api", "db", "worker"]

sizes = st.one_of(
    st.builds(lambda n: PoolSize(n, False, None, None), st.integers(0, 5)),
    st.builds(
        lambda lo, span, n: PoolSize(min(lo + n, lo + span), True, lo, lo + span),
        st.integers(0, 2),
        st.integers(1, 4),
        st.integers(0, 4),
    ),
    st.builds(lambda n: PoolSize(n, False, None, None, "Stopped"), st.integers(1, 3)),
)


@st.composite
def clusters(draw, *, with_memory: bool = True, busy: bool = True):
    """Two projects in one cluster, each with workloads and one pool, in any state."""
    projects, items = [], []
    for index, ns in enumerate(("ns-a", "ns-b")):
        action = draw(st.sampled_from(list(NodePoolAction)))
        projects.append(
            project(
                f"project-{index}",
                namespaces=(ns,),
                node_pools=(f"pool{index}",),
                node_pool_action=action,
                warmup_minutes=draw(st.sampled_from([0, 20, 90])),
                **draw(st.sampled_from(SCHEDULES)),
            )
        )
        for name in draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=4)):
            replicas = draw(st.integers(0, 6))
            original = draw(st.one_of(st.none(), st.integers(0, 6))) if with_memory else None
            items.append(
                deployment(
                    ns,
                    name,
                    replicas,
                    original=original,
                    node_pool=f"pool{index}",
                    kind=draw(st.sampled_from(list(WorkloadKind))),
                )
            )
        size = draw(sizes)
        tags = {"team": ns}
        if with_memory and draw(st.booleans()):
            tags |= encode_original(draw(sizes))
        state = draw(st.sampled_from(["Succeeded", "Succeeded", "Updating"])) if busy else "Succeeded"
        items.append(
            pool(
                f"pool{index}",
                size.count,
                auto=size.enable_auto_scaling,
                low=size.min_count,
                high=size.max_count,
                power=size.power_state,
                tags=tags,
                state=state,
            )
        )
    return projects, observed(*items)


@st.composite
def overrides(draw, now):
    chosen = []
    until = now + timedelta(hours=draw(st.integers(-2, 10)))
    if draw(st.booleans()):
        chosen.append(
            override("project-0", draw(st.sampled_from([OverrideAction.UP, OverrideAction.DOWN])), until=until)
        )
    if draw(st.booleans()):
        target = WorkloadRef(draw(st.sampled_from(list(WorkloadKind))), "ns-b", draw(st.sampled_from(NAMES)))
        chosen.append(
            override("project-1", OverrideAction.REPLICAS, until=until, target=target, replicas=draw(st.integers(0, 4)))
        )
    return chosen


instants = st.integers(0, 7 * 24 * 12 - 1).map(lambda i: WEEK_START + timedelta(minutes=5 * i))


@settings(max_examples=300, deadline=None)
@given(clusters(), instants, st.data())
def test_planning_again_after_applying_the_plan_changes_nothing(cluster, now, data):
    projects, state = cluster
    active = data.draw(overrides(now))
    first = plan(projects, active, state, now)
    assert changes(plan(projects, active, apply(state, first), now)) == []


SATURDAY_NOON = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)  # down for every sample schedule but `always`
BUSINESS_HOURS = [datetime(2026, 12, 7, 12, 0, tzinfo=UTC), datetime(2026, 12, 8, 3, 30, tzinfo=UTC)]  # Mon, Tue


@settings(max_examples=300, deadline=None)
@given(clusters(with_memory=False, busy=False), st.data())
def test_going_down_then_up_restores_every_workload_and_pool_exactly(cluster, data):
    projects, state = cluster
    night = apply(state, plan(projects, [], state, SATURDAY_NOON))
    # Someone scales workloads the app put to sleep by hand during the night; the next night tick puts
    # them back to 0, and the morning still restores the count remembered first.
    (seen,) = night.values()
    meddled = {
        seen.cluster: replace(
            seen,
            workloads=tuple(
                replace(w, replicas=data.draw(st.integers(0, 9)))
                if w.original_replicas is not None and data.draw(st.booleans())
                else w
                for w in seen.workloads
            ),
        )
    }
    night = apply(meddled, plan(projects, [], meddled, SATURDAY_NOON + timedelta(minutes=5)))
    morning = night
    for p in projects:  # each project at an instant inside its own business hours
        up = next(at for at in BUSINESS_HOURS if p.schedule.is_up(at))
        morning = apply(morning, plan([p], [], morning, up))
    assert _sizes(morning) == _sizes(state)


def _sizes(state):
    (seen,) = state.values()
    return (
        sorted((w.ref, w.replicas, w.original_replicas) for w in seen.workloads),
        sorted((p.name, p.size, tuple(sorted(p.tags.items()))) for p in seen.pools),
    )
