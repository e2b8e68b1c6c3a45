"""The world of bench/tick_scale.py: a generated fleet (clusters, pools, projects, Deployments) and the
emulator serving it from a child process, driven over a pipe (so its CPU is not the bench's)."""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass
from typing import Any

SUBSCRIPTION = "00000000-0000-0000-0000-000000000000"
RESOURCE_GROUP = "rg-aks-hours-bench"
OFFICE = "Mon-Fri 08:00-19:00"


@dataclass(frozen=True)
class Fleet:
    clusters: int = 20
    projects_per_cluster: int = 50
    deployments_per_project: int = 10
    pools_per_cluster: int = 10  # one System pool + user pools; the first projects own one user pool each

    @property
    def projects(self) -> int:
        return self.clusters * self.projects_per_cluster

    @property
    def deployments(self) -> int:
        return self.projects * self.deployments_per_project

    @property
    def pools(self) -> int:
        return self.clusters * self.pools_per_cluster

    def cluster_name(self, c: int) -> str:
        return f"aks-bench-{c:02d}"

    def project_name(self, c: int, p: int) -> str:
        return f"team-{c:02d}-{p:03d}"

    def pool_of(self, p: int) -> str | None:
        """The user pool project number `p` owns (pool1..pool9), or None."""
        return f"pool{p + 1}" if p < self.pools_per_cluster - 1 else None

    def emulator_config(self) -> dict[str, Any]:
        clusters = []
        for c in range(self.clusters):
            pools = [{"name": "system", "mode": "System", "count": 3, "autoscaler": {"min": 3, "max": 5}}]
            pools += [
                {
                    "name": f"pool{i}",
                    "mode": "User",
                    "vmSize": "Standard_D4s_v5",
                    "count": 2,
                    "autoscaler": {"min": 0, "max": 4},
                }
                for i in range(1, self.pools_per_cluster)
            ]
            namespaces = []
            for p in range(self.projects_per_cluster):
                pool = self.pool_of(p) or "system"
                namespaces.append(
                    {
                        "name": self.project_name(c, p),
                        "deployments": [
                            {"name": f"app-{d}", "replicas": 1 + (p + d) % 3, "pool": pool, "image": "nginx:1.27"}
                            for d in range(self.deployments_per_project)
                        ],
                    }
                )
            clusters.append({"name": self.cluster_name(c), "pools": pools, "namespaces": namespaces})
        return {"subscription": SUBSCRIPTION, "resourceGroup": RESOURCE_GROUP, "clusters": clusters}

    def project_rows(
        self, access: str, *, clusters: int | None = None, projects: int | None = None
    ) -> list[tuple[str, dict[str, object]]]:
        """One row per project: the first `projects` of each of the first `clusters` clusters (default all)."""
        rows = []
        for c in range(self.clusters if clusters is None else clusters):
            for p in range(self.projects_per_cluster if projects is None else projects):
                row: dict[str, object] = {
                    "Cluster": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/"
                    f"Microsoft.ContainerService/managedClusters/{self.cluster_name(c)}",
                    "Namespaces": self.project_name(c, p),
                    "Uptime": OFFICE,
                    "TimeZone": "Europe/Berlin",
                    "Access": access,
                }
                if self.pool_of(p):
                    row.update(NodePools=self.pool_of(p), NodePoolAction="zero")
                rows.append((self.project_name(c, p), row))
        return rows


# -- the emulator in a child process -----------------------------------------------------------------

# The emulator settles every workload of the called cluster before each request (controllers: readiness,
# HPAs), ~80 ms at 10,000 Deployments so ~4 ms for one cluster's 500, under its one lock: 10,000
# PATCHes would take 40 s of emulator time whatever the app does. For this bench it settles a cluster at
# most every SETTLE_EVERY_S of wall time (and always when its clock is advanced or reset). Only status
# fields lag (readyReplicas, pool operations, all with delays >= 1 s here); objects and pools change at
# once, so the app's calls and waits are as they would be against independent API servers.
SETTLE_EVERY_S = 0.5


def _throttle_settle(state: Any, *, every: float) -> None:
    full = state.settle
    last: dict[Any, tuple[float, Any, Any]] = {}  # cluster (None: all) -> (when, clock, its offset)

    def settle(only: str | None = None) -> None:
        clock = state.clock
        at, seen_clock, offset = last.get(only, (0.0, None, None))
        if time.monotonic() - at < every and clock is seen_clock and clock._offset == offset:
            return
        full(only)
        last[only] = (time.monotonic(), clock, clock._offset)

    state.settle = settle


def _serve(conn: Any, config: dict[str, Any], delays: dict[str, float]) -> None:
    from emulator.config import Config, Delays
    from emulator.server import Emulator

    emu = Emulator(Config.from_mapping(config), delays=Delays(**delays)).start()
    _throttle_settle(emu.state, every=SETTLE_EVERY_S)
    ids = {c.name: emu.cluster_id(c.name) for c in emu.config.clusters}
    conn.send(
        {
            "env": emu.env(),
            "arm_url": emu.arm_url,
            "ca_cert": emu.ca_cert,
            "kubeconfig": emu.kubeconfig,
            "cluster_ids": ids,
            "kube_urls": {n: emu.kube_url(n) for n in ids},
        }
    )
    while True:
        command, kwargs = conn.recv()
        if command == "stop":
            emu.stop()
            conn.send(None)
            return
        if command == "counters":
            conn.send(dict(emu.counters()))
        elif command == "cpu":
            conn.send(time.process_time())
        elif command == "slow":
            emu.slow(**kwargs)
            conn.send(None)
        else:
            conn.send(getattr(emu, command)(**kwargs))


class EmulatorProcess:
    """`call("reset")`, `call("finish_operations")`, `call("slow", seconds=0.15, service="arm")`, ..."""

    def __init__(self, fleet: Fleet, delays: dict[str, float]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, fleet.emulator_config(), delays), daemon=True)
        self._process.start()
        self.info: dict[str, Any] = self._conn.recv()

    def call(self, command: str, **kwargs: Any) -> Any:
        self._conn.send((command, kwargs))
        return self._conn.recv()

    def stop(self) -> None:
        try:
            self.call("stop")
        finally:
            self._process.join(10)
