"""A world for reconcile tests: Azurite tables holding the sample projects, the emulator's sample clusters,
and a reconcile Context built from settings exactly as the app builds it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable

from scaling.actions import Notice, ObjectChange, PoolChange
from scaling.audit import AuditRow, AuditStore
from scaling.model import Project
from scaling.project_file import read_file
from scaling.reconcile import Context, TickReport, tick
from scaling.rows import validate_rows
from scaling.settings import Settings
from scaling.store import ProjectStore
from scaling.tables import TableNames, ensure_tables, table_service

SAMPLE_SCHEDULES = Path(__file__).resolve().parents[1] / "schedules.sample.yaml"


def sample_projects(*names: str, **changes) -> list[Project]:
    """The sample projects named (all when none), with `changes` applied to each (e.g. dry_run=True)."""
    loaded = validate_rows(read_file(str(SAMPLE_SCHEDULES)).rows)
    assert not loaded.errors, loaded.errors
    chosen = [p for p in loaded.projects if not names or p.name in names]
    return [dataclasses.replace(p, **changes) for p in chosen]


def emulator_settings(settings: Settings, emu) -> Settings:
    return dataclasses.replace(
        settings, arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, kubeconfig=emu.kubeconfig,
        local_credential=True,
    )


@dataclass
class World:
    emu: object
    settings: Settings
    names: TableNames
    context: Context

    @classmethod
    def build(cls, settings: Settings, names: TableNames, emu, projects: Iterable[Project]) -> "World":
        # Long emulated delays: nothing a tick starts completes while that tick still runs, so no
        # controller races a patch within a tick (tests/test_reconcile.py provokes the 409 on purpose);
        # `tick` finishes everything between ticks, as five minutes would.
        emu.set_delays(pool_operation=60, ready=60, hpa_sync=60)
        settings = emulator_settings(settings, emu)
        service = table_service(settings)
        ensure_tables(service, names)
        ProjectStore(service, names).upsert(list(projects))
        context = Context.from_settings(settings, table_names=names, run_command_poll=0.02)
        return cls(emu, settings, names, context)

    @property
    def service(self):
        return table_service(self.settings)

    def tick(self, when: str | datetime, *, settle: bool = True, **kwargs) -> TickReport:
        """One tick at `when`; then (by default) let the emulator finish what the tick started, as five
        minutes of real time would."""
        now = datetime.fromisoformat(when) if isinstance(when, str) else when
        report = tick(now, context=self.context, **kwargs)
        if settle:
            self.emu.finish_operations()
        return report

    def audit(self, **query) -> list[AuditRow]:
        rows, token = [], None
        store = AuditStore(self.service, self.names.audit)
        while True:
            page, token = store.query(limit=1000, continuation=token, **query)
            rows += page
            if token is None:
                return rows

    def writes(self) -> int:
        """Write calls the emulator received since the last `reset_calls` (PATCH, PUT, POST, DELETE)."""
        return sum(self.emu.calls(method=m) for m in ("PATCH", "PUT", "POST", "DELETE"))


def changes_of(report: TickReport) -> list[tuple[str, str, str]]:
    """(project, target, direction) of each change, in execution order."""
    return [
        (o.action.why.project, o.action.target, o.action.direction.value)
        for o in report.outcomes if isinstance(o.action, (ObjectChange, PoolChange))
    ]


def notices_of(report: TickReport) -> list[Notice]:
    return [o.action for o in report.outcomes if isinstance(o.action, Notice)]
