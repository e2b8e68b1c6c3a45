"""The API in-process over real parts: Azurite tables (unique per test), the AKS emulator reset to its
sample, the sample schedules loaded, and a clock the test moves. Import the fixtures into a test module."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scaling.api import create_app
from scaling.api_auth import AuthConfig
from scaling.api_backend import build_context, import_if_empty
from scaling.project_file import parse_text
from scaling.reconcile import Context, TickReport, tick
from scaling.rows import validate_rows
from scaling.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
KEY = "it-key-0123456789"
AUTH = {"Authorization": f"Bearer {KEY}"}
# Tuesday 2026-11-24 10:00 UTC: Berlin 11:00 (project-a up until 19:00 = 18:00Z),
# Tokyo 19:00 (project-b just went down), platform-tools always up.
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
DEMO = "aks-demo"


class Clock:
    """The API's and the ticks' `now`, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class World:
    client: TestClient
    context: Context
    emulator: Any
    clock: Clock
    settings: Settings

    def tick(self, **advance: float) -> TickReport:
        """A timer tick at the clock's time (moved by `advance` first)."""
        if advance:
            self.clock.advance(**advance)
        return tick(self.clock.now, context=self.context)

    def deployment(self, namespace: str, name: str, cluster: str = DEMO) -> dict:
        """The Deployment as the emulator holds it (spec.replicas, annotations, ...)."""
        return self.emulator.cluster(cluster).get("deployments", namespace, name)

    def replicas(self, namespace: str, name: str) -> int:
        return self.deployment(namespace, name)["spec"]["replicas"]

    def annotations(self, namespace: str, name: str) -> dict:
        return self.deployment(namespace, name)["metadata"].get("annotations") or {}

    def put_projects(self, yaml_text: str) -> None:
        """Upsert project rows given as a schedules file."""
        loaded = validate_rows(parse_text(yaml_text, source="test", json_format=False).rows)
        assert not loaded.errors, loaded.errors
        self.context.projects.upsert(loaded.projects)

    def audit_rows(self, project: str) -> list:
        rows, _ = self.context.audit.query(project=project, limit=100)
        return rows


def world_settings(azurite, emulator, **changes: Any) -> Settings:
    env = {**emulator.env(), "SCALING_STORAGE_CONNECTION": azurite.connection_string, "SCALING_API_KEY": KEY}
    env.update({k: str(v) for k, v in changes.items()})
    return Settings.from_env(env)


@pytest.fixture
def world(azurite, emu, table_names) -> World:
    settings = world_settings(azurite, emu)
    context = build_context(settings, table_names=table_names)
    import_if_empty(context, ROOT / "schedules.sample.yaml")
    clock = Clock(NOW)
    auth = AuthConfig(api_key=KEY, behind_functions_host=False, trust_principal_header=False)
    app = create_app(lambda: context, settings, clock=clock, auth=auth)
    with TestClient(app) as client:
        yield World(client=client, context=context, emulator=emu, clock=clock, settings=settings)
