"""One timer tick end to end: load, observe, plan, act, audit (DESIGN.md "Data flow").

    tick(now, context=...)                       every cluster, `cluster_concurrency` at a time
      load projects + overrides                  one query each
      per cluster (reconcile one cluster):
        observe workloads and node pools         side by side: one list per kind, one agent pool list
        plan                                     scaling/plan/decide.py, pure
        act, phase by phase                      writes of one phase in parallel (`concurrency`)
        audit                                    each row handed to the tick's background writer as
                                                 its action is done (scaling/storage/audit_writer.py)
      flush the audit writer                     rows it could not write wait in the spool

Threads, not asyncio: the kubernetes, azure-mgmt and azure-data-tables SDKs are synchronous, and their
calls block on the network, so threads give the same overlap without wrapping every call.

Dry-run (`Settings.dry_run`, `tick(dry_run=True)`, or a project's `DryRun`) plans as usual and records
each change as a `dry-run` row without any write call. A cluster whose observation fails gets one
`failed` row per project and changes nothing; the other clusters carry on. Originals live on the
objects (written in the same request as the scale-down), so a crash before the audit loses no size.

Notices that persist (a workload at 0 without memory, a shared pool, ...) are logged every tick but
audited when first seen and then every `NOTICE_REPEAT` per process, so the trail is not one row per
notice per five minutes.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from scaling.clusters.kept_views import KeptViews
from scaling.logs import log_context, new_tick_id, record_tick
from scaling.model import Access, Project, ProjectError
from scaling.names import ClusterId, is_dns1123_label
from scaling.override import Override
from scaling.plan.actions import Action, Change, Notice, ObjectChange, Outcome, PoolChange, Result, Why
from scaling.plan.decide import phase_of, plan
from scaling.plan.observed import ObservedCluster, ObservedPool
from scaling.plan.pools import describe
from scaling.plan.release import RELEASER, UNOWNED, Rows
from scaling.plan.release import orphans as find_orphans
from scaling.settings import Settings
from scaling.storage.audit import AuditRow, AuditStore, row_for
from scaling.storage.audit_writer import AuditWriter, FileSpool, MemorySpool, Spool
from scaling.storage.notices import NoticeClaims, notice_key
from scaling.storage.overrides import OverrideStore
from scaling.storage.projects import StoredRow
from scaling.storage.rows import LoadedProjects
from scaling.storage.tables import TableNames

UTC = UTC
NOTICE_REPEAT = timedelta(hours=6)
log = logging.getLogger("scaling.reconcile")


class WorkloadBackend(Protocol):
    def observe(self, cluster: ClusterId, namespaces: Sequence[str], *, strays: bool = False) -> ObservedCluster: ...

    def apply(self, cluster: ClusterId, changes: Sequence[ObjectChange], *, concurrency: int = 8) -> list[Outcome]: ...


@runtime_checkable
class StreamingBackend(Protocol):
    """A workload backend that reports each outcome as soon as it is known (the audit row goes out at once)."""

    streams_outcomes: bool

    def apply(
        self,
        cluster: ClusterId,
        changes: Sequence[ObjectChange],
        *,
        concurrency: int = 8,
        on_outcome: Callable[[int, Outcome], None] | None = None,
    ) -> list[Outcome]: ...


class PoolBackend(Protocol):
    def observe(self, cluster: ClusterId) -> tuple[ObservedPool, ...]: ...

    def apply(self, change: PoolChange) -> Outcome: ...


class ProjectSource(Protocol):
    def load(self) -> LoadedProjects: ...
    def read(self) -> dict[str, StoredRow]: ...
    def upsert(self, projects: Iterable[Project], *, current: Mapping[str, StoredRow] | None = None) -> object: ...


class NoticeMemo:
    """Which notices this process audited recently (thread-safe)."""

    def __init__(self, repeat: timedelta = NOTICE_REPEAT, *, shared: NoticeClaims | None = None) -> None:
        self._repeat, self._lock = repeat, threading.Lock()
        self._seen: dict[tuple[object, ...], datetime] = {}
        self._shared = shared  # the other processes' memory (Table `Locks`), asked once this one finds it due

    def due(self, notice: Notice, now: datetime) -> bool:
        if notice.result is Result.BUSY:
            return True  # transient and useful: every occurrence is recorded
        key = (notice.why.project, notice.cluster, notice.target, notice.message, notice.result)
        with self._lock:
            last = self._seen.get(key)
            if last is not None and timedelta(0) <= now - last < self._repeat:
                return False
            self._seen[key] = now
        if self._shared is None:
            return True
        elsewhere = self._shared.claim(notice_key(key), now, self._repeat)
        if elsewhere is None:
            return True
        with self._lock:  # audited by another process then: due again `repeat` after that
            self._seen[key] = elsewhere
        return False


@dataclass
class Context:
    """What a tick needs: the stores, the backends per access path, and the settings. Built once per
    process (clients inside are cached), handed to every tick."""

    settings: Settings
    projects: ProjectSource
    overrides: OverrideStore
    audit: AuditStore
    workloads: Mapping[Access, WorkloadBackend]
    pools: PoolBackend
    notices: NoticeMemo = field(default_factory=NoticeMemo)
    views: KeptViews = field(default_factory=KeptViews)
    notifications: object = None  # scaling.notify.store.NotifyStore: heads-ups sent (scaling/notifying.py)
    # scaling.followup's scheduler (LocalFollowUps in serve, QueueFollowUps in Azure); None: no follow-ups
    followups: object | None = None
    spool: Spool = field(default_factory=MemorySpool)  # audit rows not written yet; the next tick drains it

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        table_names: TableNames | None = None,
        clients=None,
        run_command_poll: float = 5.0,
    ) -> Context:
        """Table Storage from the settings (tables created when missing), ARM / Kubernetes clients
        built lazily per cluster by `scaling.clusters.clients.Clients`. `run_command_poll`: seconds between
        run-command result polls (real run-commands take tens of seconds; the emulator far less)."""
        from scaling.clusters.clients import Clients
        from scaling.clusters.kube import KubeApiBackend
        from scaling.clusters.nodepools import NodePoolBackend
        from scaling.clusters.runcommand import RunCommandBackend
        from scaling.notify.store import NotifyStore
        from scaling.storage.projects import ProjectStore
        from scaling.storage.tables import ensure_tables, table_service

        names = table_names or TableNames()
        service = table_service(settings)
        ensure_tables(service, names)
        clients = clients or Clients(settings)
        return cls(
            settings=settings,
            projects=ProjectStore(service, names),
            overrides=OverrideStore(service, names.overrides),
            audit=AuditStore(service, names.audit),
            workloads={
                Access.API: KubeApiBackend(clients),
                Access.RUN_COMMAND: RunCommandBackend(clients, poll_interval=run_command_poll),
            },
            pools=NodePoolBackend(clients),
            notifications=NotifyStore(service, names.notifications),
            notices=NoticeMemo(shared=NoticeClaims(service, names.locks)),
            spool=FileSpool(settings.audit_spool) if settings.audit_spool else MemorySpool(),
        )


@dataclass(frozen=True)
class ClusterReport:
    cluster: ClusterId
    projects: tuple[str, ...]
    outcomes: tuple[Outcome, ...] = ()
    error: str | None = None  # observation failed, or the cluster's run crashed
    audit_error: str | None = None  # rows could not be written (the changes stand; originals are on objects)
    rows: int = 0  # audit rows of this cluster written by the tick
    audit_calls: int = 0  # kept for readers of older reports: the writer's calls are the tick's (TickReport)
    duration_ms: int = 0


@dataclass(frozen=True)
class TickReport:
    """What one tick did. `outcomes` holds every action (changes and notices) with its result."""

    tick_id: str
    now: datetime
    clusters: tuple[ClusterReport, ...]
    project_errors: tuple[str, ...] = ()
    override_errors: tuple[str, ...] = ()
    duration_ms: int = 0
    audit_rows: int = 0  # rows written by this tick (drained ones included)
    audit_calls: int = 0  # entity transactions that wrote them
    audit_drained: int = 0  # rows of earlier ticks taken from the spool
    audit_pending: int = 0  # rows still in the spool after the tick: written by a later tick
    audit_error: str | None = None

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        return tuple(o for c in self.clusters for o in c.outcomes)

    @property
    def changes(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not isinstance(o.action, Notice))

    @property
    def actions(self) -> int:
        """Changes acted on (written, or recorded as dry-run)."""
        return len(self.changes)

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if o.result is Result.FAILED)


@dataclass(frozen=True)
class _Loaded:
    projects: tuple[Project, ...]
    overrides: tuple[Override, ...]
    row_errors: tuple[ProjectError, ...]
    override_errors: tuple[str, ...]
    rows: Rows = Rows()  # the whole table, for releases (scaling/plan/release.py)

    @property
    def project_errors(self) -> tuple[str, ...]:
        return tuple(str(e) for e in self.row_errors)


def _load(context: Context, now: datetime) -> _Loaded:
    loaded = context.projects.load()
    overrides = context.overrides.load(now)
    return _Loaded(
        tuple(p for p in loaded.projects if p.enabled),
        overrides.active,
        tuple(loaded.errors),
        overrides.errors,
        Rows(tuple(loaded.projects), frozenset(e.project for e in loaded.errors)),
    )


def report_bad_rows(
    errors: Sequence[ProjectError], now: datetime, context: Context, tick_id: str, writer: AuditWriter | None = None
) -> None:
    """Log every column of a project row that did not load, and audit it like a notice (first seen, then
    every NOTICE_REPEAT): that project is not scheduled until its row is fixed. A row whose name is not a
    DNS-1123 label is only logged: its name cannot key an audit partition."""
    notices = []
    for error in errors:
        log.warning("not loaded: %s", error, extra={"project": error.project})
        if is_dns1123_label(error.project):
            notices.append(
                Notice(
                    None,
                    f"row/{error.column}",
                    f"row not loaded, project not scheduled: {error.message}",
                    Why(error.project),
                    Result.FAILED,
                )
            )
    outcomes = [Outcome(n, Result.FAILED) for n in notices]
    if writer is not None:
        _audit_to(writer, outcomes, now, context, tick_id, "rows")
    else:
        _audit(outcomes, now, context, tick_id, "rows")


def tick(now: datetime, *, context: Context, dry_run: bool = False, tick_id: str | None = None) -> TickReport:
    """One tick over every cluster with an enabled project."""
    _check_now(now)
    tick_id = tick_id or new_tick_id()
    started = time.monotonic()
    with log_context(tick_id=tick_id):
        writer = AuditWriter(context.audit, context.spool)
        try:
            loaded = _load(context, now)
        except BaseException:
            writer.close()  # storage unreachable: nothing to drain into; the rows stay spooled
            raise
        drained = writer.drain()
        report_bad_rows(loaded.row_errors, now, context, tick_id, writer)
        for error in loaded.override_errors:
            log.warning("not loaded: %s", error)
        by_cluster: dict[ClusterId, list[Project]] = defaultdict(list)
        for project in loaded.projects:
            by_cluster[project.cluster].append(project)
        for row in loaded.rows.projects:
            by_cluster.setdefault(row.cluster, [])  # every project of it disabled: only releases
        workers = max(1, min(context.settings.cluster_concurrency, len(by_cluster)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cluster") as pool:
            futures = [
                pool.submit(
                    contextvars.copy_context().run,
                    _run_cluster,
                    cluster,
                    members,
                    loaded.overrides,
                    now,
                    context,
                    tick_id,
                    dry_run,
                    writer,
                    loaded.rows,
                )
                for cluster, members in sorted(by_cluster.items())
            ]
            clusters = tuple(f.result() for f in futures)
        flushed = writer.close()
        report = TickReport(
            tick_id,
            now,
            tuple(_audited(c, writer, flushed.error) for c in clusters),
            loaded.project_errors,
            loaded.override_errors,
            int((time.monotonic() - started) * 1000),
            audit_rows=flushed.written,
            audit_calls=flushed.calls,
            audit_drained=drained,
            audit_pending=context.spool.pending,
            audit_error=flushed.error,
        )
        record_tick(report)
        return report


def _audited(report: ClusterReport, writer: AuditWriter, error: str | None) -> ClusterReport:
    """`report` with the rows the writer wrote for its cluster, and the writer's error if some were not."""
    scope = audit_scope(report.cluster)
    written, submitted = writer.written(scope), writer.submitted(scope)
    failed = f"{error}; {submitted - written} rows kept for the next tick" if written < submitted else None
    return replace(report, rows=written, audit_error=report.audit_error or failed)


def reconcile_cluster(
    cluster: ClusterId, now: datetime, context: Context, *, dry_run: bool = False, tick_id: str | None = None
) -> ClusterReport:
    """One cluster's part of a tick on its own (the queue fan-out: one message per cluster). Loads projects
    and overrides itself; `tick_id` ties its rows and log lines to the tick that sent it."""
    _check_now(now)
    tick_id = tick_id or new_tick_id()
    with log_context(tick_id=tick_id):
        loaded = _load(context, now)
        members = [p for p in loaded.projects if p.cluster == cluster]
        writer = AuditWriter(context.audit, context.spool)
        writer.drain()
        report = _run_cluster(cluster, members, loaded.overrides, now, context, tick_id, dry_run, writer, loaded.rows)
        flushed = writer.close()
        return _audited(report, writer, flushed.error)


def _check_now(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now={now.isoformat()} is naive; pass a timezone-aware datetime")


# -- one cluster ----------------------------------------------------------------------------------------


def _run_cluster(
    cluster: ClusterId,
    members: Sequence[Project],
    overrides: Sequence[Override],
    now: datetime,
    context: Context,
    tick_id: str,
    dry_run: bool,
    writer: AuditWriter,
    rows: Rows | None = None,
) -> ClusterReport:
    started = time.monotonic()
    names = tuple(p.name for p in members)
    outcomes: list[Outcome] = []
    error = None
    scope = audit_scope(cluster)
    actions: list[Action] = []

    def audit(index: int, outcome: Outcome) -> None:
        # The row goes to the writer now, while the cluster's other writes are still running.
        if not isinstance(outcome.action, Notice) or context.notices.due(outcome.action, now):
            writer.submit([row_for(outcome, time=now, tick=tick_id, sequence=index, scope=scope)], key=scope)

    with log_context(cluster=cluster.name):
        on_cluster = [p for p in rows.projects if p.cluster == cluster] if rows is not None else list(members)
        if not members and not on_cluster:
            return ClusterReport(cluster, names)
        try:
            seen = observe(cluster, members, context, rows=rows)
            error = seen.error
            actions = plan(members, overrides, {cluster: seen}, now, rows=rows)
            outcomes = execute(cluster, actions, on_cluster or members, context, dry_run=dry_run, done=audit)
            if any(not isinstance(o.action, Notice) and o.result is not Result.DRY_RUN for o in outcomes):
                context.views.forget(cluster)  # a write was tried (a failed one may still have landed)
        except Exception as exc:  # noqa: BLE001 - one cluster's surprise must not stop the others
            log.exception("cluster %s failed", cluster.name)
            error = f"{type(exc).__name__}: {exc}"
            failed = [
                Outcome(Notice(cluster, "cluster", f"tick failed: {error}", Why(p.name), Result.FAILED), Result.FAILED)
                for p in members
            ]
            for n, outcome in enumerate(failed):
                audit(len(actions) + n, outcome)
            outcomes += failed
        for outcome in outcomes:
            _log(outcome)
    return ClusterReport(cluster, names, tuple(outcomes), error, duration_ms=int((time.monotonic() - started) * 1000))


def access_of(members: Sequence[Project]) -> Access:
    """One access path per cluster: run-command when any project asks for it (a private cluster's API
    server is unreachable, and run-command also works on a public one)."""
    return Access.RUN_COMMAND if any(p.access is Access.RUN_COMMAND for p in members) else Access.API


def observe(
    cluster: ClusterId, members: Sequence[Project], context: Context, *, rows: Rows | None = None
) -> ObservedCluster:
    """Workloads and node pools of `cluster`, read side by side; any failure is the cluster's `error`.

    With `rows` (a tick), also the namespaces of the cluster's disabled rows, whatever holds the app's
    originals anywhere else in the cluster, and every pool: what nobody claims any more is released."""
    from scaling.clusters.nodepools import PoolObserveError

    looked = list(members) + ([p for p in rows.projects if p.cluster == cluster] if rows is not None else [])
    namespaces = sorted({ns for p in looked for ns in p.namespaces})
    backend = context.workloads[access_of(looked)]
    wants_pools = rows is not None or any(p.node_pools for p in members)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="observe") as pool:
        read = functools.partial(backend.observe, strays=True) if rows is not None else backend.observe
        workloads = pool.submit(contextvars.copy_context().run, read, cluster, namespaces)
        pools = pool.submit(contextvars.copy_context().run, context.pools.observe, cluster) if wants_pools else None
        seen = workloads.result()
        try:
            found = pools.result() if pools is not None else ()
        except PoolObserveError as exc:
            return replace(seen, error=seen.error or str(exc))
    return replace(seen, pools=tuple(found))


def execute(
    cluster: ClusterId,
    actions: Sequence[Action],
    members: Sequence[Project],
    context: Context,
    *,
    dry_run: bool = False,
    done: Callable[[int, Outcome], None] | None = None,
) -> list[Outcome]:
    """Act on `actions` (already in phase order) step by step; return one outcome per action, in order.

    A step is one phase's writes, in parallel. A write whose workload did not get through an earlier
    step of this tick is held back (BUSY, retried next tick): an autoscaler released or paused around a
    workload whose own patch failed, or a workload restored while its autoscaler still holds it, would
    lose its remembered size. On the run-command path this costs a command per phase on the ticks that
    change both workloads and autoscalers.

    `done(index, outcome)` is called once per action as soon as its outcome is known (the audit row goes
    out while the other writes still run)."""
    settings = context.settings
    access = access_of(members)
    dry_projects = {p.name for p in members if p.dry_run or settings.dry_run or dry_run}
    outcomes: dict[int, Outcome] = {}

    def settle(index: int, outcome: Outcome) -> None:
        if index not in outcomes:
            outcomes[index] = outcome
            if done is not None:
                done(index, outcome)

    steps: list[tuple[type, object, list[int]]] = []
    for index, action in enumerate(actions):
        if isinstance(action, Notice):
            settle(index, Outcome(action, action.result))
            continue
        # A release may be filed under a project that is no member (a deleted row): a global dry run covers it.
        if action.why.project in dry_projects or settings.dry_run or dry_run:
            settle(index, Outcome(action, Result.DRY_RUN))
            continue
        kind, phase = type(action), phase_of(action)
        if steps and steps[-1][0] is kind and steps[-1][1] == phase:
            steps[-1][2].append(index)
        else:
            steps.append((kind, phase, [index]))
    backend = context.workloads[access]
    unsettled: dict[str, str] = {}  # workload -> its own or its autoscaler's write that did not succeed
    for kind, _, indexes in steps:
        go = []
        for index in indexes:
            failed = _blocked_by(actions[index], unsettled)
            if failed is None:
                go.append(index)
            else:
                settle(
                    index,
                    Outcome(
                        actions[index],
                        Result.BUSY,
                        f"held back: {failed} did not succeed earlier in this tick; tried again every tick until "
                        "it does",
                    ),
                )
        changes = [actions[i] for i in go]
        if not changes:
            continue
        objects = [c for c in changes if isinstance(c, ObjectChange)]
        if kind is ObjectChange and isinstance(backend, StreamingBackend):

            def heard(position: int, outcome: Outcome, go: list[int] = go) -> None:
                settle(go[position], outcome)

            results = backend.apply(cluster, objects, concurrency=settings.concurrency, on_outcome=heard)
        elif kind is ObjectChange:
            results = backend.apply(cluster, objects, concurrency=settings.concurrency)
        else:
            results = _apply_pools([c for c in changes if isinstance(c, PoolChange)], context)
        for index, outcome in zip(go, results, strict=True):
            settle(index, outcome)
        for outcome in results:
            if outcome.result is not Result.OK and isinstance(outcome.action, ObjectChange):
                for workload in filter(None, (outcome.action.target, outcome.action.holds)):
                    unsettled.setdefault(workload, outcome.action.target)
    return [outcomes[i] for i in range(len(actions))]


def _blocked_by(action: Action, unsettled: dict[str, str]) -> str | None:
    """The earlier write that `action`'s workload waits on, if any."""
    if not isinstance(action, ObjectChange):
        return None
    for workload in (action.target, action.holds):
        if workload in unsettled:
            return unsettled[workload]
    return None


def _apply_pools(changes: Sequence[Change], context: Context) -> list[Outcome]:
    workers = max(1, min(context.settings.concurrency, len(changes)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pool") as pool:
        return list(pool.map(lambda c: contextvars.copy_context().run(context.pools.apply, c), changes))


def audit_scope(cluster: ClusterId) -> str:
    """A short stable name of `cluster` for audit RowKeys (rows of clusters reconciled in parallel, or by
    separate queue messages of one tick, must not collide)."""
    return hashlib.sha1(cluster.resource_id.lower().encode()).hexdigest()[:8]


def _audit_to(
    writer: AuditWriter, outcomes: Iterable[Outcome], now: datetime, context: Context, tick_id: str, scope: str
) -> None:
    chosen = [o for o in outcomes if not isinstance(o.action, Notice) or context.notices.due(o.action, now)]
    rows: list[AuditRow] = [row_for(o, time=now, tick=tick_id, sequence=n, scope=scope) for n, o in enumerate(chosen)]
    writer.submit(rows, key=scope)


def _audit(
    outcomes: Iterable[Outcome], now: datetime, context: Context, tick_id: str, scope: str
) -> tuple[int, int, str | None]:
    """Audit `outcomes` outside a tick's writer (bad rows on the queue timer, a release): a writer of their
    own, flushed now; rows it cannot write wait in the spool. Returns rows written, calls, the error."""
    writer = AuditWriter(context.audit, context.spool)
    _audit_to(writer, outcomes, now, context, tick_id, scope)
    flushed = writer.close()
    return writer.written(scope), flushed.calls, flushed.error


def _log(outcome: Outcome) -> None:
    action = outcome.action
    level = logging.WARNING if outcome.result in (Result.FAILED, Result.BUSY) else logging.INFO
    if isinstance(action, Notice):
        log.log(
            level,
            "%s %s: %s",
            action.why.project,
            action.target,
            action.message,
            extra={"project": action.why.project, "result": outcome.result.value},
        )
        return
    if isinstance(action, PoolChange):
        before, after = describe(action.before), describe(action.after)
    else:
        before, after = action.before, action.after
    log.log(
        level,
        "%s %s %s -> %s: %s%s",
        action.why.project,
        action.target,
        before,
        after,
        outcome.result.value,
        f" ({outcome.error})" if outcome.error else "",
        extra={"project": action.why.project, "result": outcome.result.value},
    )


def release(
    now: datetime,
    *,
    context: Context,
    project: str | None = None,
    orphans: bool = False,
    clusters: Sequence[ClusterId] = (),
    actor: str = "cli",
    dry_run: bool = False,
) -> TickReport:
    """A person's release: give back now what `project` holds (named on the object or in its row's
    columns) and/or, with `orphans`, every hold in a namespace or on a pool that no row names. Looks at
    the clusters of every row plus `clusters` (one whose only row was deleted). Audited like a tick
    (trigger manual, reason `released: ...`); `dry_run` records without writing."""
    from scaling.plan.release_request import plan_release_request

    _check_now(now)
    if project is None and not orphans:
        raise ValueError("release: name a project, or ask for orphans")
    tick_id = new_tick_id()
    started = time.monotonic()
    with log_context(tick_id=tick_id):
        loaded = _load(context, now)
        rows = loaded.rows
        wanted = {p.cluster for p in rows.projects} | set(clusters)
        reason = ("asked for orphans" if project is None else f"asked for project {project}") + f" by {actor}"
        reports = []
        for cluster in sorted(wanted):
            with log_context(cluster=cluster.name):
                on_cluster = [p for p in rows.projects if p.cluster == cluster]
                seen = observe(cluster, [], context, rows=rows)
                if seen.error is not None:
                    note = Notice(
                        cluster, "cluster", f"not released: {seen.error}", Why(project or UNOWNED), Result.FAILED
                    )
                    outcomes = [Outcome(note, Result.FAILED)]
                else:
                    actions = plan_release_request(
                        seen, rows, project=project, orphaned=orphans, actor=actor, reason=reason
                    )
                    outcomes = execute(cluster, actions, on_cluster, context, dry_run=dry_run)
                    if any(not isinstance(o.action, Notice) for o in outcomes):
                        context.views.forget(cluster)
                for outcome in outcomes:
                    _log(outcome)
                written, calls, audit_error = _audit(outcomes, now, context, tick_id, audit_scope(cluster))
                reports.append(
                    ClusterReport(
                        cluster,
                        tuple(p.name for p in on_cluster),
                        tuple(outcomes),
                        seen.error,
                        audit_error,
                        written,
                        calls,
                    )
                )
        return TickReport(
            tick_id,
            now,
            tuple(reports),
            loaded.project_errors,
            loaded.override_errors,
            int((time.monotonic() - started) * 1000),
        )


@dataclass(frozen=True)
class PoolRelease:
    """A pool the next tick would give back, as it was observed."""

    change: PoolChange
    pool: ObservedPool


@dataclass(frozen=True)
class Preview:
    """What a tick would release: the changes (as dry-run outcomes), its pools as observed, and the
    clusters that could not be looked at."""

    outcomes: tuple[Outcome, ...] = ()
    pools: tuple[PoolRelease, ...] = ()
    problems: tuple[str, ...] = ()
    waiting: tuple[Notice, ...] = ()
    orphans: tuple[tuple[ClusterId, str], ...] = ()


def preview_releases(
    projects: Sequence[Project], now: datetime, *, context: Context, unreadable: frozenset[str] = frozenset()
) -> Preview:
    """What a tick at `now` would release if the Projects table held exactly `projects` (every row, enabled
    or not, plus the `unreadable` names of rows that do not load): planned like a tick, nothing written.
    `waiting` holds the releases that wait (Release: at-opening, a row that does not load); `orphans` the
    holds no row names."""
    rows = Rows(tuple(projects), unreadable)
    by_cluster: dict[ClusterId, list[Project]] = defaultdict(list)
    for project in projects:
        by_cluster[project.cluster].append(project)
    found: list[Outcome] = []
    waiting: list[Notice] = []
    orphaned: list[tuple[ClusterId, str]] = []
    pools: list[PoolRelease] = []
    problems: list[str] = []
    for cluster in sorted(by_cluster):
        members = [p for p in by_cluster[cluster] if p.enabled]
        seen = observe(cluster, members, context, rows=rows)
        if seen.error is not None:
            problems.append(f"{cluster.name}: {seen.error}")
            continue
        orphaned += [(cluster, target) for target in find_orphans(seen, rows)]
        for action in plan(members, [], {cluster: seen}, now, rows=rows):
            if action.why.actor != RELEASER:
                continue
            if isinstance(action, Notice):
                waiting.append(action)
                continue
            found.append(Outcome(action, Result.DRY_RUN))
            pool = seen.pool(action.pool) if isinstance(action, PoolChange) else None
            if isinstance(action, PoolChange) and pool is not None:
                pools.append(PoolRelease(action, pool))
    return Preview(tuple(found), tuple(pools), tuple(problems), tuple(waiting), tuple(orphaned))


def holdings(now: datetime, *, context: Context) -> Preview:
    """What the table as it is would release at the next tick, what waits, and the orphans (status page, API)."""
    loaded = context.projects.load()
    return preview_releases(
        loaded.projects, now, context=context, unreadable=frozenset(e.project for e in loaded.errors)
    )


def released_pools(outcomes: Iterable[Outcome], context: Context) -> list[PoolRelease]:
    """The pool changes among `outcomes`, each with the pool as ARM shows it now (for its VM size)."""
    pools: list[PoolRelease] = []
    looked: dict[ClusterId, tuple[ObservedPool, ...]] = {}
    for outcome in outcomes:
        change = outcome.action
        if isinstance(change, PoolChange):
            if change.cluster not in looked:
                looked[change.cluster] = context.pools.observe(change.cluster)
            pool = next((p for p in looked[change.cluster] if p.name == change.pool), None)
            if pool is not None:
                pools.append(PoolRelease(change, pool))
    return pools
