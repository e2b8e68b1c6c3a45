"""How the executor turns a plan into write calls (steps, dry-run, notices), and which notices it audits.

Recording backends stand in for the clusters here: these tests are about call grouping, not I/O (the
integration tests in tests/engine/test_reconcile*.py use the emulator)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from scaling.model import Access
from scaling.plan.actions import Direction, Notice, ObjectChange, Outcome, PoolChange, Result, Why
from scaling.plan.observed import PoolSize
from scaling.reconcile import Context, NoticeMemo, access_of, execute
from scaling.settings import Settings
from tests.fixtures.plan_builders import CLUSTER, project

UTC = UTC
NOW = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def apply(self, cluster, changes, *, concurrency=8):
        self.calls.append([c.target for c in changes])
        return [Outcome(c, Result.OK) for c in changes]

    def observe(self, cluster, namespaces):  # pragma: no cover - not used here
        raise AssertionError("execute never observes")


class PoolRecorder:
    def __init__(self, calls: list) -> None:
        self.calls = calls

    def apply(self, change):
        self.calls.append([change.target])
        return Outcome(change, Result.OK)


def context(settings: Settings | None = None):
    api, run_command = Recorder(), Recorder()
    pools = PoolRecorder(api.calls)  # one shared log keeps the order across backends
    run_command.calls = api.calls
    ctx = Context(
        settings or Settings(),
        projects=None,
        overrides=None,
        audit=None,
        workloads={Access.API: api, Access.RUN_COMMAND: run_command},
        pools=pools,
    )
    return ctx, api.calls


def workload(name: str, direction: Direction, project: str = "project-a", resource: str = "deployments.apps"):
    return ObjectChange(CLUSTER, resource, "project-a", name, {}, "1", "0", direction, Why(project))


def pool(name: str, direction: Direction, project: str = "project-a"):
    size = PoolSize(1, False, None, None)
    return PoolChange(CLUSTER, name, size, size, {}, direction, Why(project))


DOWN, UP = Direction.DOWN, Direction.UP


def test_each_phase_is_one_step_on_the_api_path():
    ctx, calls = context()
    actions = [
        workload("a", DOWN),
        workload("hpa", DOWN, resource="horizontalpodautoscalers.autoscaling"),
        workload("b", UP),
    ]
    execute(CLUSTER, actions, [project()], ctx)
    assert calls == [["deployment/project-a/a"], ["horizontalpodautoscaler/project-a/hpa"], ["deployment/project-a/b"]]


def test_each_phase_is_one_step_on_the_run_command_path_too():
    ctx, calls = context()
    actions = [
        workload("a", DOWN),
        workload("hpa", DOWN, resource="horizontalpodautoscalers.autoscaling"),
        workload("b", UP),
    ]
    execute(CLUSTER, actions, [replace(project(), access=Access.RUN_COMMAND)], ctx)
    assert calls == [["deployment/project-a/a"], ["horizontalpodautoscaler/project-a/hpa"], ["deployment/project-a/b"]]


def failing(*targets: str) -> Recorder:
    class Failing(Recorder):
        def apply(self, cluster, changes, *, concurrency=8):
            self.calls.append([c.target for c in changes])
            return [Outcome(c, Result.FAILED if c.target in targets else Result.OK, "webhook said no") for c in changes]

    return Failing()


def test_a_workload_whose_scale_down_failed_keeps_its_autoscaler_running():
    ctx, _ = context()
    ctx.workloads = {Access.API: failing("deployment/project-a/web")}
    keda = replace(workload("web", DOWN, resource="scaledobjects.keda.sh"), holds="deployment/project-a/web")
    other = replace(workload("api-keda", DOWN, resource="scaledobjects.keda.sh"), holds="deployment/project-a/api")
    down, held, paused = execute(CLUSTER, [workload("web", DOWN), keda, other], [project()], ctx)
    assert down.result is Result.FAILED
    assert held.result is Result.BUSY and "deployment/project-a/web did not succeed" in held.error
    assert paused.result is Result.OK


def test_a_workload_is_not_restored_while_its_autoscaler_could_not_be_released():
    ctx, _ = context()
    ctx.workloads = {Access.API: failing("scaledobject/project-a/web")}
    keda = replace(workload("web", UP, resource="scaledobjects.keda.sh"), holds="deployment/project-a/web")
    release, restore, unrelated = execute(CLUSTER, [keda, workload("web", UP), workload("api", UP)], [project()], ctx)
    assert release.result is Result.FAILED
    assert restore.result is Result.BUSY and "scaledobject/project-a/web did not succeed" in restore.error
    assert unrelated.result is Result.OK


def test_a_pool_step_between_workload_phases_keeps_them_apart():
    ctx, calls = context()
    actions = [workload("a", DOWN), pool("gpu", UP), workload("b", UP)]
    execute(CLUSTER, actions, [replace(project(), access=Access.RUN_COMMAND)], ctx)
    assert calls == [["deployment/project-a/a"], ["nodepool/gpu"], ["deployment/project-a/b"]]


def test_dry_run_projects_make_no_call_and_get_dry_run_outcomes():
    ctx, calls = context()
    actions = [workload("a", DOWN, project="project-a"), workload("b", DOWN, project="project-b")]
    members = [replace(project(), dry_run=True), project("project-b", namespaces=("b",))]
    outcomes = execute(CLUSTER, actions, members, ctx)
    assert [o.result for o in outcomes] == [Result.DRY_RUN, Result.OK]
    assert calls == [["deployment/project-a/b"]]


def test_global_dry_run_makes_no_call_at_all():
    ctx, calls = context(Settings(dry_run=True))
    outcomes = execute(CLUSTER, [workload("a", DOWN), pool("gpu", DOWN)], [project()], ctx)
    assert calls == [] and {o.result for o in outcomes} == {Result.DRY_RUN}


def test_notices_keep_their_result_and_cost_no_call():
    ctx, calls = context()
    notice = Notice(CLUSTER, "nodepool/gpu", "busy", Why("project-a"), Result.BUSY)
    assert execute(CLUSTER, [notice], [project()], ctx)[0].result is Result.BUSY and calls == []


def test_a_cluster_with_any_run_command_project_is_reached_by_run_command():
    assert access_of([project(), replace(project("b"), access=Access.RUN_COMMAND)]) is Access.RUN_COMMAND
    assert access_of([project()]) is Access.API


def test_a_standing_notice_is_audited_once_then_again_after_the_repeat_interval():
    memo = NoticeMemo(timedelta(hours=6))
    notice = Notice(CLUSTER, "deployment/project-a/web", "at 0 with no remembered size", Why("project-a"))
    assert memo.due(notice, NOW)
    assert not memo.due(notice, NOW + timedelta(hours=5, minutes=55))
    assert memo.due(notice, NOW + timedelta(hours=6))


def test_busy_notices_are_audited_every_time():
    memo = NoticeMemo()
    notice = Notice(CLUSTER, "nodepool/gpu", "busy", Why("project-a"), Result.BUSY)
    assert memo.due(notice, NOW) and memo.due(notice, NOW)
