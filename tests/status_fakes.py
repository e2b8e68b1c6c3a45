"""An in-memory `Backend` for status page tests: projects, observed pools, overrides and audit rows in lists.

It stands in for Table Storage and the clusters behind the API's narrow Backend protocol (no SDK is
touched); overrides set through the API land in `overrides` and `audit` like the real backend's would."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from scaling.actions import Result
from scaling.api import create_app
from scaling.api_auth import AuthConfig
from scaling.api_models import AuditView
from scaling.api_service import ApiService
from scaling.audit import override_row
from scaling.model import ProjectError
from scaling.observed import ObservedCluster, ObservedPool, ObservedWorkload, PoolSize
from scaling.settings import Settings
from tests.plan_builders import CLUSTER, project

UTC = timezone.utc
KEY = "status-test-key"


def audit_view(row) -> AuditView:
    return AuditView(time=row.time, project=row.project, cluster=row.cluster, target=row.target, action=row.action,
                     **{"from": row.from_}, to=row.to, trigger=row.trigger, actor=row.actor, reason=row.reason,
                     result=getattr(row.result, "value", row.result), error=row.error, duration_ms=row.duration_ms)


@dataclass
class FakeBackend:
    projects: list = field(default_factory=list)
    row_errors: list = field(default_factory=list)
    pools: dict = field(default_factory=dict)  # cluster -> tuple[ObservedPool]
    workloads: dict = field(default_factory=dict)  # cluster -> tuple[ObservedWorkload]
    overrides_: list = field(default_factory=list)
    audit_rows: list = field(default_factory=list)  # AuditRow, any order
    storage_down: bool = False
    look_errors: dict = field(default_factory=dict)  # cluster -> the error of its workload read

    def load_projects(self):
        if self.storage_down:
            raise ConnectionError("Table Storage at http://127.0.0.1:1 is not reachable")
        return list(self.projects), list(self.row_errors)

    def observe(self, cluster, projects, *, for_view=False):
        return ObservedCluster(cluster=cluster, pools=self.pools.get(cluster, ()),
                               workloads=self.workloads.get(cluster, ()), error=self.look_errors.get(cluster))

    def overrides(self):
        return list(self.overrides_)

    def save_override(self, override):
        self.overrides_ = [o for o in self.overrides_ if (o.project, o.target) != (override.project, override.target)]
        self.overrides_.append(override)

    def delete_override(self, override):
        self.overrides_ = [o for o in self.overrides_ if o is not override]

    def record_override(self, override, *, cleared, now):
        self.audit_rows.append(override_row(override, cleared=cleared, now=now))

    def reconcile(self, project, now):
        return []

    def audit(self, *, project, since, until, limit, continuation):
        rows = sorted(self.audit_rows, key=lambda r: r.time, reverse=True)
        rows = [r for r in rows if (project is None or r.project == project) and (since is None or r.time >= since)
                and (until is None or r.time < until)]
        start = int(continuation or 0)
        page = rows[start:start + limit]
        token = str(start + limit) if start + limit < len(rows) else None
        return [audit_view(r) for r in page], token

    def last_change(self, project, target):
        return None

    def check_storage(self):
        return None

    def check_cluster(self, cluster):
        return None


def sample_backend() -> FakeBackend:
    """Two projects on one cluster (Berlin office with a CPU pool, Tokyo GPU) and one broken row."""
    berlin = project("project-a", namespaces=("project-a",), uptime="Mon-Fri 08:00-19:00", holidays="DE-BE",
                     node_pools=("projecta",))
    tokyo = project("project-b", namespaces=("project-b",), uptime="Mon-Fri 09:00-19:00", timezone="Asia/Tokyo",
                    holidays="JP", node_pools=("gpu",), warmup_minutes=20)
    pools = (
        ObservedPool("projecta", "User", "Standard_D4s_v5", PoolSize(2, True, 0, 3), "Succeeded"),
        ObservedPool("gpu", "User", "Standard_NC4as_T4_v3", PoolSize(0, False, None, None), "Succeeded",
                     original=PoolSize(1, True, 0, 2)),
    )
    from scaling.model import WorkloadKind, WorkloadRef

    workloads = (
        ObservedWorkload(WorkloadRef(WorkloadKind.DEPLOYMENT, "project-a", "sample-app-a"), 2, 2, "1"),
        ObservedWorkload(WorkloadRef(WorkloadKind.DEPLOYMENT, "project-b", "triton-resnet50"), 0, 0, "1",
                         original_replicas=1),
    )
    return FakeBackend(
        projects=[berlin, tokyo],
        row_errors=[ProjectError("project-c", "TimeZone", "unknown time zone 'Mars/Base'")],
        pools={CLUSTER: pools}, workloads={CLUSTER: workloads},
    )


def make_app(backend: FakeBackend, clock) -> object:
    settings = Settings(api_key=KEY, dry_run=False)
    auth = AuthConfig(api_key=KEY, behind_functions_host=False, trust_principal_header=False)
    return create_app(lambda: ApiService(backend), settings, clock=clock, auth=auth)


def fixed_clock(at: datetime):
    return lambda: at


_ = Result  # re-exported for tests that build audit rows
