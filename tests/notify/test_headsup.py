"""Which messages are due when: the heads-up at lead time before the effective down transition, moved or
cancelled by overrides, and the optional note after it."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scaling.notify.headsup import MessageKind, due_messages, summarise
from scaling.override import OverrideAction
from tests.fixtures.plan_builders import deployment, observed, override, pool, project
from tests.notify.builders import notifying

# Tuesday 2026-11-24; Berlin is UTC+1, so office hours 09:00-18:00 end at 17:00Z.
DOWN = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)


def test_a_heads_up_is_due_from_lead_time_until_the_transition():
    p = notifying(minutes=15)
    assert due_messages([p], [], DOWN - timedelta(minutes=16)) == []
    (due,) = due_messages([p], [], DOWN - timedelta(minutes=15))
    assert (due.kind, due.transition, due.key) == (MessageKind.HEADS_UP, DOWN, "heads-up-20261124T1700Z")
    assert len(due_messages([p], [], DOWN - timedelta(seconds=1))) == 1
    assert due_messages([p], [], DOWN) == []


def test_projects_without_channels_or_disabled_get_nothing():
    now = DOWN - timedelta(minutes=5)
    assert due_messages([project(), notifying(enabled=False)], [], now) == []


def test_a_keep_up_override_moves_the_heads_up_to_its_end():
    p = notifying()
    keep = override(action=OverrideAction.UP, until=DOWN + timedelta(hours=1))
    assert due_messages([p], [keep], DOWN - timedelta(minutes=5)) == []
    (due,) = due_messages([p], [keep], DOWN + timedelta(minutes=50))
    assert due.transition == DOWN + timedelta(hours=1)


def test_a_down_override_cancels_the_pending_heads_up():
    p = notifying()
    down = override(action=OverrideAction.DOWN, until=DOWN + timedelta(hours=15))
    assert due_messages([p], [down], DOWN - timedelta(minutes=5)) == []


def test_a_holiday_is_a_down_transition_too():
    # 2026-12-25 is a Friday and a holiday in Berlin: Thursday's window ends as usual, Friday never opens,
    # so the heads-up on Thursday evening is the only one until Monday.
    p = notifying(holidays="DE-BE")
    thursday_end = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)
    (due,) = due_messages([p], [], thursday_end - timedelta(minutes=10))
    assert due.transition == thursday_end
    assert due_messages([p], [], datetime(2026, 12, 25, 16, 50, tzinfo=UTC)) == []


def test_the_after_note_is_due_shortly_after_the_transition_only_when_asked_for():
    assert due_messages([notifying()], [], DOWN + timedelta(minutes=5)) == []
    (due,) = due_messages([notifying(after=True)], [], DOWN + timedelta(minutes=5))
    assert (due.kind, due.transition) == (MessageKind.AFTER, DOWN)
    assert due_messages([notifying(after=True)], [], DOWN + timedelta(minutes=31)) == []


@given(st.integers(min_value=0, max_value=7 * 24 * 60))
def test_every_heads_up_precedes_a_real_down_change_within_the_lead(minute):
    p = notifying(minutes=15)
    now = datetime(2026, 11, 23, tzinfo=UTC) + timedelta(minutes=minute)
    for due in due_messages([p], [], now):
        assert now < due.transition <= now + timedelta(minutes=15)
        assert p.schedule.is_up(now) and not p.schedule.is_up(due.transition)


def test_the_summary_counts_running_workloads_and_names_gpu_pools():
    p = notifying(node_pools=("gpu", "cpu"))
    gpu = pool("gpu", 2)
    gpu = type(gpu)(**{**gpu.__dict__, "vm_size": "Standard_NC4as_T4_v3"})
    seen = observed(
        deployment("project-a", "web", 2),
        deployment("project-a", "idle", 0),
        deployment("project-b", "other", 3),
        gpu,
        pool("cpu", 1),
    )
    prices = {"Standard_NC4as_T4_v3": 0.5, "Standard_D4s_v5": 0.2}
    summary = summarise(p, next(iter(seen.values())), prices.get)
    assert summary.workloads == 1
    assert summary.gpu_pools == ("gpu",)
    assert summary.saves_per_hour == 1.2


def test_a_cluster_that_could_not_be_looked_at_gives_a_summary_without_counts():
    assert summarise(notifying(), None, lambda _: None).observed is False
