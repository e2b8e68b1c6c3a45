"""The API's `Backend` over the reconcile engine's `Context` (stores, observers, executor), plus the few
things the Functions app and `serve` need from the engine: build the context, run a tick, seed samples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from scaling import followup, reconcile
from scaling.api.models import AuditView
from scaling.model import Access, Project, ProjectError
from scaling.names import ClusterId
from scaling.override import Override
from scaling.plan.actions import Outcome
from scaling.plan.observed import ObservedCluster
from scaling.plan.release import gpu_warning
from scaling.reconcile import Context, TickReport
from scaling.settings import Settings
from scaling.storage.audit import AuditRow, override_row
from scaling.storage.tables import TableNames

UTC = UTC
LAST_CHANGE_ROWS = 200  # how far back `last_change` looks in a project's audit partition
PRICES = Path(__file__).resolve().parents[1] / "page" / "prices.json"  # the savings report's table (USD)


def price_of(vm_size: str) -> float | None:
    """Hourly list price of a VM size from the savings report's price table, None when unknown or unreadable."""
    import json

    try:
        prices = json.loads(PRICES.read_text(encoding="utf-8")).get("prices", {})
    except (OSError, ValueError, AttributeError):
        return None
    found = {str(k).lower(): v for k, v in prices.items()}.get(vm_size.lower())
    return float(found) if isinstance(found, (int, float)) and not isinstance(found, bool) else None


def build_context(settings: Settings, *, table_names: TableNames | None = None) -> Context:
    """The engine's context: tables created when missing, cluster clients built lazily per cluster."""
    # The emulator answers run-commands in well under a second; real AKS takes tens of seconds.
    poll = 0.2 if settings.local_credential else 5.0
    return Context.from_settings(settings, table_names=table_names, run_command_poll=poll)


def run_tick(context: Context, now: datetime) -> TickReport | int:
    """One timer firing, exactly as the Functions timer does it (scaling.triggers.run_timer): audit rows
    kept from a storage outage first, then every cluster in-process, or one queue message per cluster
    with SCALING_FANOUT=queue (whose consumer is the Functions app's queue trigger)."""
    from scaling.triggers import run_timer

    return run_timer(context, now)


@dataclass(frozen=True)
class Seeded:
    imported: bool
    names: tuple[str, ...]


def import_if_empty(context: Context, path: Path) -> Seeded:
    """Load the schedules file into the Projects table when it has no project row; else leave it alone."""
    from scaling.storage.project_file import read_file
    from scaling.storage.rows import validate_rows

    store = context.projects
    current = store.read()
    if current:
        return Seeded(False, tuple(sorted(current)))
    if not path.exists():
        return Seeded(False, ())
    loaded = validate_rows(read_file(str(path)).rows)
    store.upsert(loaded.projects, current=current)
    return Seeded(True, tuple(p.name for p in loaded.projects))


def audit_view(row: AuditRow) -> AuditView:
    return AuditView(
        time=row.time,
        project=row.project,
        cluster=row.cluster,
        target=row.target,
        action=row.action,
        **{"from": row.from_},
        to=row.to,
        trigger=row.trigger,
        actor=row.actor,
        reason=row.reason,
        result=row.result.value,
        error=row.error,
        duration_ms=row.duration_ms,
    )


class ContextBackend:
    """`scaling.api.service.Backend` over a reconcile `Context`."""

    def __init__(self, context: Context, settings: Settings | None = None) -> None:
        self.context = context

    def load_projects(self) -> tuple[Sequence[Project], Sequence[ProjectError]]:
        loaded = self.context.projects.load()
        return loaded.projects, loaded.errors

    def observe(self, cluster: ClusterId, projects: Sequence[Project], *, for_view: bool = False) -> ObservedCluster:
        """A fresh look; for a view of a run-command cluster, one at most VIEW_MAX_AGE seconds old will do:
        each look there is a pod started in the cluster and tens of seconds, on every page load."""
        if not for_view or reconcile.access_of(projects) is not Access.RUN_COMMAND:
            return reconcile.observe(cluster, projects, self.context)
        key = (cluster, tuple(sorted({ns for p in projects for ns in p.namespaces})))
        return self.context.views.look(key, lambda: reconcile.observe(cluster, projects, self.context))

    def overrides(self) -> Sequence[Override]:
        # Every readable row: the service decides what is active at its own clock; the tick cleans up.
        return self.context.overrides.all()

    def save_override(self, override: Override) -> None:
        self.context.overrides.save(override)

    def delete_override(self, override: Override) -> None:
        self.context.overrides.clear(override.project, override.target)

    def record_override(self, override: Override, *, cleared: bool, now: datetime) -> None:
        self.context.audit.write([override_row(override, cleared=cleared, now=now)])

    def reconcile(self, project: Project, now: datetime) -> Sequence[Outcome]:
        # The whole cluster, like a tick: planning one project alone could miss a pool it shares.
        report = reconcile.reconcile_cluster(project.cluster, now, self.context)
        if report.error and not report.outcomes:
            raise RuntimeError(report.error)
        followup.note(self.context, project.cluster, report.outcomes, now)  # back within seconds if in flight
        return [o for o in report.outcomes if o.action.why.project == project.name]

    def audit(
        self,
        *,
        project: str | None,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> tuple[Sequence[AuditView], str | None]:
        rows, token = self.context.audit.query(
            project=project, since=since, until=until, limit=limit, continuation=continuation
        )
        return [audit_view(r) for r in rows], token

    def last_change(self, project: str, target: str) -> datetime | None:
        rows, _ = self.context.audit.query(project=project, limit=LAST_CHANGE_ROWS)
        for row in rows:
            if row.target == target and row.action.startswith("scale-") and row.result.value == "ok":
                return row.time
        return None

    def release(
        self, *, project: str | None, orphans: bool, actor: str, dry_run: bool, now: datetime
    ) -> tuple[Sequence[Outcome], Sequence[str]]:
        report = reconcile.release(
            now, context=self.context, project=project, orphans=orphans, actor=actor, dry_run=dry_run
        )
        pools = reconcile.released_pools(report.outcomes, self.context)
        when = "now" if not dry_run else "when applied"
        warning = gpu_warning(((p.pool, p.change.after) for p in pools), hourly=price_of, currency="USD", when=when)
        return report.outcomes, [warning] if warning else []

    def holdings(self, now: datetime, *, api_only: bool = True):
        """What the next tick would release, what waits, the orphans (scaling.reconcile.Preview), and the
        warning about GPU pools among the due releases. `api_only`: run-command clusters are skipped
        (a look there costs tens of seconds; `release --orphans --dry-run` shows them)."""
        loaded = self.context.projects.load()
        projects = [p for p in loaded.projects if not api_only or p.access is not Access.RUN_COMMAND]
        private = {p.cluster for p in loaded.projects if p.access is Access.RUN_COMMAND}
        projects = [p for p in projects if not api_only or p.cluster not in private]
        preview = reconcile.preview_releases(
            projects, now, context=self.context, unreadable=frozenset(e.project for e in loaded.errors)
        )
        if api_only and private:
            skipped = tuple(f"{c.name}: run-command cluster, not looked at from here" for c in sorted(private))
            preview = replace(preview, problems=preview.problems + skipped)
        warning = gpu_warning(
            ((p.pool, p.change.after) for p in preview.pools), hourly=price_of, currency="USD", when="at the next tick"
        )
        return preview, warning

    def check_storage(self) -> None:
        self.context.projects.read()

    def check_cluster(self, cluster: ClusterId, projects: Sequence[Project]) -> None:
        """ARM answers for every cluster; the Kubernetes API too where the app talks to it directly. A
        run-command cluster is not probed with a run-command: that takes tens of seconds per probe."""
        if reconcile.access_of(projects) is Access.RUN_COMMAND:
            self.context.pools.observe(cluster)
            return
        seen = reconcile.observe(cluster, projects, self.context)
        if seen.error:
            raise RuntimeError(seen.error)
