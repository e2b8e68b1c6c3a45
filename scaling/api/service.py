"""What the endpoints do, over a narrow `Backend` (tables, clusters, reconcile of one project).

The endpoints never touch a store or a client themselves: they ask an `ApiService`, which owns the
rules (who owns a deployment, what an override does, what gets audited) and reaches the outside only
through `Backend`. scaling/api/backend.py implements `Backend` over the reconcile engine's context.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from fastapi import Request

from scaling.api.auth import Caller
from scaling.api.errors import ApiError
from scaling.api.models import AuditView, ProjectView, ResultView
from scaling.api.views import active_for, project_view, recent_failures
from scaling.clusters.per_cluster import each_cluster, observe_clusters
from scaling.logs import said as _said  # a dependency's error, redacted, for a response body
from scaling.model import Project, ProjectError, WorkloadRef
from scaling.names import ClusterId
from scaling.override import Override
from scaling.plan.actions import Outcome, PoolChange, Result
from scaling.plan.observed import ObservedCluster, ObservedWorkload, PoolSize
from scaling.plan.pools import describe

RECENT = timedelta(days=1)  # how far back "last errors" look
RECENT_ROWS = 500


class Backend(Protocol):
    """The I/O the API needs. Every method may raise; the service turns failures into clear errors."""

    def load_projects(self) -> tuple[Sequence[Project], Sequence[ProjectError]]: ...

    def observe(self, cluster: ClusterId, projects: Sequence[Project], *, for_view: bool = False) -> ObservedCluster:
        """One look at `cluster`; `projects` are all its projects (they decide namespaces and access path).

        `for_view`: only for display, so a recent look may be reused (see scaling.clusters.kept_views)."""

    def overrides(self) -> Sequence[Override]: ...

    def save_override(self, override: Override) -> None: ...

    def delete_override(self, override: Override) -> None: ...

    def record_override(self, override: Override, *, cleared: bool, now: datetime) -> None:
        """Audit the decision itself (set or cleared), before anything is applied."""

    def reconcile(self, project: Project, now: datetime) -> Sequence[Outcome]:
        """Plan and apply this project's changes now (audited like a tick's), returning the outcomes."""

    def audit(
        self,
        *,
        project: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> tuple[Sequence[AuditView], str | None]: ...

    def last_change(self, project: str, target: str) -> datetime | None: ...

    def check_storage(self) -> None: ...

    def check_cluster(self, cluster: ClusterId, projects: Sequence[Project]) -> None: ...

    def release(
        self, *, project: str | None, orphans: bool, actor: str, dry_run: bool, now: datetime
    ) -> tuple[Sequence[Outcome], Sequence[str]]:
        """Give back now what `project` holds and/or every orphan (scaling.reconcile.release): the outcomes
        and the warnings (GPU pools started)."""


@dataclass(frozen=True)
class Applied:
    """An override recorded and applied at once: the workload before / after (for a targeted one)."""

    override: Override | None
    outcomes: tuple[Outcome, ...] = ()
    before: ObservedWorkload | None = None
    after: ObservedWorkload | None = None
    dry_run: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)

    def message(self, done: str) -> str:
        if self.dry_run:
            return f"Dry run: {done[0].lower()}{done[1:]} (recorded, nothing changed)"
        pending = sum(1 for o in self.outcomes if o.result in (Result.FAILED, Result.BUSY))
        if pending:
            return f"{done}; {pending} change(s) not done yet, the next tick retries (see results)"
        return done

    def pending(self) -> list[str]:
        """What is not done yet, one line each: a change held back or busy, a pool operation still running."""
        return [line for outcome, line in zip(self.outcomes, self.lines(), strict=False) if _in_flight(outcome)]

    def results(self) -> list[ResultView]:
        """Each outcome as JSON fields (a pool's size as the audit writes it, never a Python repr)."""
        views = []
        for outcome in self.outcomes:
            action = outcome.action
            before = getattr(action, "before", None)
            after = getattr(action, "after", None)
            views.append(
                ResultView.model_validate(
                    {
                        "target": action.target,
                        "from": describe(before) if isinstance(before, PoolSize) else before,
                        "to": describe(after) if isinstance(after, PoolSize) else after,
                        "result": outcome.result.value,
                        "error": outcome.error,
                        "message": getattr(action, "message", None),
                    }
                )
            )
        notes = [ResultView.model_validate({"target": "-", "result": "reported", "message": n}) for n in self.notes]
        return views + notes

    def lines(self) -> list[str]:
        """The results as text lines for people (the CLI)."""
        lines = []
        for view in self.results():
            change = f"{view.from_} -> {view.to}" if view.from_ is not None or view.to is not None else ""
            text = " ".join(part for part in (f"{view.target}:", change, view.result) if part)
            detail = view.error or view.message
            lines.append(text + (f" ({detail})" if detail else ""))
        return lines


def _in_flight(outcome: Outcome) -> bool:
    """Started and not finished (a pool operation), or held back until something else is done (busy)."""
    return outcome.result is Result.BUSY or (isinstance(outcome.action, PoolChange) and outcome.result is Result.OK)


def _blocking(outcomes: Sequence[Outcome], target: str, *, busy_is_pending: bool = False) -> Outcome | None:
    """The target's failed / busy outcome, if any (busy ones not, when the caller reports them as pending)."""
    blocking = (Result.FAILED,) if busy_is_pending else (Result.FAILED, Result.BUSY)
    for outcome in outcomes:
        if outcome.result in blocking and outcome.action.target == target:
            return outcome
    return None


class ApiService:
    """The rules of the API over one `Backend`."""

    def __init__(self, backend: Backend, *, dry_run: bool = False) -> None:
        self.backend = backend
        self.dry_run = dry_run

    # -- reading ---------------------------------------------------------------------------------------

    def _load(self) -> tuple[Sequence[Project], Sequence[ProjectError]]:
        try:
            return self.backend.load_projects()
        except Exception as error:  # Table Storage down is the service's problem, not the caller's
            raise ApiError(503, "Table Storage unavailable", f"loading projects failed: {_said(error)}") from error

    def project(self, name: str) -> Project:
        projects, errors = self._load()
        for project in projects:
            if project.name == name:
                return project
        bad = [str(e) for e in errors if e.project == name]
        if bad:
            raise ApiError(404, f"Project {name} is not loaded: its row has errors", "; ".join(bad))
        raise ApiError(404, f"Project {name} not found", f"no row with RowKey {name!r} in the Projects table")

    def owner_of(self, ref: WorkloadRef) -> Project:
        """The one enabled-or-not project that manages `ref`; 404 when no project lists its namespace, 403 when
        one does but leaves the deployment out, 409 when two manage it."""
        projects, _ = self._load()
        owners = [p for p in projects if p.manages(ref)]
        if len(owners) > 1:
            names = ", ".join(sorted(p.name for p in owners))
            raise ApiError(
                409,
                f"Deployment {ref.namespace}/{ref.name} is owned by more than one project",
                f"projects {names} all manage it; fix their Namespaces / Workloads / Exclude columns",
            )
        if owners:
            return owners[0]
        in_namespace = [p.name for p in projects if ref.namespace in p.namespaces]
        if not in_namespace:
            # The reference answers an unknown namespace with 404; the app knows no other namespaces.
            raise ApiError(
                404,
                f"Deployment {ref.namespace}/{ref.name} not found",
                f"no project lists namespace {ref.namespace} in its Namespaces column",
            )
        detail = (
            f"namespace {ref.namespace} belongs to project(s) {', '.join(sorted(in_namespace))}, "
            "but their Workloads / Exclude columns leave this deployment out"
        )
        raise ApiError(403, f"Deployment {ref.namespace}/{ref.name} is not owned by any project", detail)

    def _members(self, cluster: ClusterId) -> list[Project]:
        projects, _ = self._load()
        return [p for p in projects if p.cluster == cluster]

    def observe(self, project: Project) -> ObservedCluster:
        try:
            seen = self.backend.observe(project.cluster, self._members(project.cluster) or [project])
        except Exception as error:
            raise ApiError(503, "Kubernetes unreachable", f"cluster {project.cluster.name}: {_said(error)}") from error
        if seen.error:
            raise ApiError(503, "Kubernetes unreachable", f"cluster {project.cluster.name}: {seen.error}")
        return seen

    def observed_workload(self, project: Project, ref: WorkloadRef) -> ObservedWorkload:
        workload = self.observe(project).workload(ref)
        if workload is None:
            raise ApiError(
                404,
                f"Deployment {ref.namespace}/{ref.name} not found",
                f"no Deployment {ref.name} in namespace {ref.namespace} of cluster {project.cluster.name}",
            )
        return workload

    def _overrides(self) -> Sequence[Override]:
        try:
            return self.backend.overrides()
        except Exception as error:
            raise ApiError(503, "Table Storage unavailable", f"loading overrides failed: {_said(error)}") from error

    def override_for(self, project: Project, ref: WorkloadRef | None, now: datetime) -> Override | None:
        return active_for(self._overrides(), project.name, ref, now)

    def last_scale_time(self, project: Project, ref: WorkloadRef) -> datetime | None:
        try:
            return self.backend.last_change(project.name, ref_target(ref))
        except Exception:  # a missing audit trail must not hide the deployment's state
            return None

    def project_views(self, now: datetime) -> tuple[list[ProjectView], list[str]]:
        projects, errors = self._load()
        overrides = self._overrides()
        seen = observe_clusters(self.backend, projects)
        recent = self._recent_rows(project=None, now=now)
        views = [
            project_view(p, seen.get(p.cluster), overrides, now, recent_failures(recent, p.name))
            for p in sorted(projects, key=lambda p: p.name)
        ]
        return views, [str(e) for e in errors]

    def _recent_rows(self, *, project: str | None, now: datetime) -> Sequence[AuditView]:
        """The last day's audit rows (one project's, or every project's), newest first, for 'last errors'."""
        try:
            rows, _ = self.backend.audit(
                project=project, since=now - RECENT, until=None, limit=RECENT_ROWS, continuation=None
            )
            return rows
        except Exception:  # the state of the clusters still shows without the audit trail
            return ()

    def project_view(self, name: str, now: datetime) -> ProjectView:
        project = self.project(name)
        try:
            seen = self.backend.observe(project.cluster, self._members(project.cluster), for_view=True)
        except Exception as error:
            seen = ObservedCluster(cluster=project.cluster, error=_said(error))
        failures = recent_failures(self._recent_rows(project=name, now=now), name)
        return project_view(project, seen, self._overrides(), now, failures)

    def audit(
        self,
        *,
        project: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> tuple[Sequence[AuditView], str | None]:
        try:
            return self.backend.audit(project=project, since=since, until=until, limit=limit, continuation=continuation)
        except ValueError as error:  # a continuation token that is not ours
            raise ApiError(400, "Invalid request", f"query parameter continuation: {_said(error)}") from error
        except Exception as error:
            raise ApiError(503, "Table Storage unavailable", f"reading audit rows failed: {_said(error)}") from error

    def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            self.backend.check_storage()
            checks["table-storage"] = "ok"
        except Exception as error:
            checks["table-storage"] = f"unreachable: {_said(error)}"
            return checks
        try:
            projects, _ = self.backend.load_projects()
        except Exception as error:
            checks["table-storage"] = f"unreachable: {_said(error)}"
            return checks

        def check(cluster: ClusterId, members: list[Project]) -> str:
            try:
                self.backend.check_cluster(cluster, members)
                return "ok"
            except Exception as error:
                return f"unreachable: {_said(error)}"

        checks.update({f"cluster {c.name}": r for c, r in each_cluster(projects, check).items()})
        return checks

    # -- changing --------------------------------------------------------------------------------------

    def release(
        self, *, project: str | None, orphans: bool, who: Caller, now: datetime, dry_run: bool
    ) -> tuple[Applied, list[str]]:
        """Give back now what `project` holds (its row may be disabled, invalid or deleted) and/or every
        orphan; audited with the caller as actor. The app's dry-run setting makes every release a dry run."""
        dry = dry_run or self.dry_run
        try:
            outcomes, warnings = self.backend.release(
                project=project, orphans=orphans, actor=who.actor, dry_run=dry, now=now
            )
        except Exception as error:
            raise ApiError(503, "Release failed", f"releasing failed: {_said(error)}") from error
        return Applied(None, tuple(outcomes), dry_run=dry), list(warnings)

    def apply_override(
        self, project: Project, override: Override, now: datetime, who: Caller, *, busy_is_pending: bool = False
    ) -> Applied:
        """Record the override and its audit row, then apply the project's changes at once. `busy_is_pending`:
        the target's own change held back (busy) is reported in `Applied.pending()`, not as a 409."""
        if not project.enabled:
            raise ApiError(
                409,
                f"Project {project.name} is disabled",
                "its row has Enabled: false, so the app does not scale its workloads; enable it first",
            )
        before = self.observed_workload(project, override.target) if override.target else None
        try:
            self.backend.save_override(override)
            self.backend.record_override(override, cleared=False, now=now)
        except Exception as error:
            raise ApiError(
                503, "Table Storage unavailable", f"recording the override failed: {_said(error)}"
            ) from error
        return self._apply(project, override, before, now, busy_is_pending=busy_is_pending)

    def clear_override(
        self, project: Project, ref: WorkloadRef | None, now: datetime, who: Caller
    ) -> tuple[Override, Applied]:
        current = [o for o in self._overrides() if o.project == project.name and o.target == ref and o.active(now)]
        if not current:
            what = f"workload {ref}" if ref else f"project {project.name}"
            raise ApiError(404, f"No active override for {what}", "nothing to clear")
        try:
            for override in current:
                self.backend.delete_override(override)
            newest = max(current, key=lambda o: o.created)
            cleared = Override(
                project=newest.project,
                action=newest.action,
                until=now,
                reason=newest.reason,
                actor=who.actor,
                created=newest.created,
                target=newest.target,
                replicas=newest.replicas,
            )
            self.backend.record_override(cleared, cleared=True, now=now)
        except Exception as error:
            raise ApiError(503, "Table Storage unavailable", f"clearing the override failed: {_said(error)}") from error
        return newest, self._apply(project, None, None, now, target=ref)

    def _apply(
        self,
        project: Project,
        override: Override | None,
        before: ObservedWorkload | None,
        now: datetime,
        target: WorkloadRef | None = None,
        *,
        busy_is_pending: bool = False,
    ) -> Applied:
        target = override.target if override else target
        try:
            outcomes = tuple(self.backend.reconcile(project, now))
        except Exception as error:
            raise ApiError(
                500,
                "Kubernetes API error",
                f"the override is recorded, but applying it failed: {_said(error)}; the next tick retries",
            ) from error
        dry_run = self.dry_run or project.dry_run
        # One deployment: its change is the answer, so its failure is the response's. A whole project:
        # what could not be done now (a pool still busy) is listed and left to the next tick.
        blocking = (
            _blocking(outcomes, ref_target(target), busy_is_pending=busy_is_pending) if target is not None else None
        )
        if blocking is not None:
            status = 409 if blocking.result is Result.BUSY else 500
            raise ApiError(
                status,
                "Kubernetes API error" if status == 500 else "Conflict",
                f"{blocking.action.target}: {blocking.error or blocking.result.value}; the override is "
                "recorded and the next tick retries",
            )
        after = None
        if target is not None and before is not None:
            after = self.observed_workload(project, target)
        return Applied(override=override, outcomes=outcomes, before=before, after=after, dry_run=dry_run)


def ref_target(ref: WorkloadRef) -> str:
    """The audit / action target string of a workload (`deployment/<namespace>/<name>`)."""
    return f"{ref.kind.value}/{ref.namespace}/{ref.name}"


def service_of(request: Request) -> ApiService:
    """The app's service, built on first use from the context factory given to `create_app`.

    Building it creates the tables, so Table Storage being unreachable at a cold start fails it: that is a
    503 like any other storage outage, not a 500 (and the next request tries again)."""
    try:
        value: Any = request.app.state.context.get()
    except Exception as error:
        raise ApiError(
            503, "Table Storage unavailable", f"connecting to Table Storage failed: {_said(error)}"
        ) from error
    return value
