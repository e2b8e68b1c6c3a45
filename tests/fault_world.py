"""A world for the fault suite and the soak: the emulator's two sample clusters with every project on one
Berlin office schedule (so both clusters change at the same tick), Table Storage behind a TCP proxy that
can be cut, and the checks "no original size lost", "down as scheduled" and "exactly as before"."""

from __future__ import annotations

import dataclasses
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from azure.data.tables import TableServiceClient

from scaling.annotations import ORIGINAL_REPLICAS, POOL_TAGS
from scaling.audit import AuditRow, AuditStore
from scaling.model import Access
from scaling.overrides import OverrideStore
from scaling.plan_pools import decode_original
from scaling.reconcile import Context
from scaling.settings import Settings
from scaling.store import ProjectStore
from scaling.tables import TableNames, ensure_tables
from tests.reconcile_world import World, emulator_settings, sample_projects

UTC = timezone.utc
OFFICE = "Mon-Fri 08:00-19:00"  # Europe/Berlin, for every project but platform-tools (always up)
UP = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 11:00 Berlin: all up
DOWN = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday 19:00 Berlin: all three projects go down
MORNING = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tuesday 08:00 Berlin: back up (GPU pool from 06:40)
# The namespaces each cluster's projects own; platform-tools is always up.
MANAGED = {"aks-demo": ("project-a", "project-b", "platform-tools"), "aks-private": ("nightly-batch",)}
ALWAYS_UP = ("platform-tools",)


def fault_projects(private_access: Access = Access.RUN_COMMAND) -> list:
    """The sample projects on OFFICE hours in Berlin. `private_access`: how nightly-batch's cluster is
    reached (run-command runs real kubectl processes, about 1.5 s a tick; the API path takes 0.1 s)."""
    from scaling.schedule import parse

    chosen = []
    for project in sample_projects():
        if project.name in ALWAYS_UP:
            chosen.append(project)
            continue
        spec = dataclasses.replace(project.spec, uptime=OFFICE, timezone="Europe/Berlin")
        schedule = parse(uptime=OFFICE, downtime=None, timezone="Europe/Berlin", holidays=spec.holidays,
                         closed_dates=spec.closed_dates)
        access = private_access if project.access is Access.RUN_COMMAND else project.access
        chosen.append(dataclasses.replace(project, spec=spec, schedule=schedule, access=access))
    return chosen


# -- Table Storage behind a switch ---------------------------------------------------------------------


class StorageProxy:
    """A TCP forwarder in front of Azurite. `cut()` closes every connection and refuses new ones (the
    client sees "connection refused", as when the storage account is unreachable); `restore()` listens
    again on the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            sockets, self._open = self._open, []
        for sock in ([listener] if listener else []) + sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    @property
    def up(self) -> bool:
        return self._listener is not None

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:
                    client.close()
                    upstream.close()
                    return
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def proxied(connection_string: str, table_endpoint: str, proxy: StorageProxy) -> str:
    """The connection string with its table endpoint moved behind the proxy."""
    port = table_endpoint.split(":")[2].split("/")[0]
    return connection_string.replace(f"127.0.0.1:{port}", f"127.0.0.1:{proxy.port}")


def build_world(settings: Settings, names: TableNames, emu: Any, *, storage: str | None = None,
                private_access: Access = Access.RUN_COMMAND) -> World:
    """A reconcile World whose stores use `storage` (e.g. through the proxy) with one quick retry, so a
    tick without Table Storage fails in a second instead of after the SDK's default back-off."""
    from scaling.clients import Clients
    from scaling.kube import KubeApiBackend
    from scaling.nodepools import NodePoolBackend
    from scaling.runcommand import RunCommandBackend

    settings = emulator_settings(dataclasses.replace(settings, storage_connection=storage or settings.storage_connection), emu)
    direct = TableServiceClient.from_connection_string(settings.storage_connection)
    ensure_tables(direct, names)
    ProjectStore(direct, names).upsert(fault_projects(private_access))
    service = TableServiceClient.from_connection_string(
        settings.storage_connection, retry_total=1, retry_backoff_factor=0.01, retry_backoff_max=0.05,
        connection_timeout=2, read_timeout=10,
    )
    clients = Clients(settings)
    context = Context(
        settings=settings, projects=ProjectStore(service, names), overrides=OverrideStore(service, names.overrides),
        audit=AuditStore(service, names.audit),
        workloads={Access.API: KubeApiBackend(clients), Access.RUN_COMMAND: RunCommandBackend(clients, poll_interval=0.02)},
        pools=NodePoolBackend(clients),
    )
    return World(emu, settings, names, context)


def all_audit(world: World, direct_connection: str) -> list[AuditRow]:
    """Every audit row of the two test days (read directly, not through the proxy)."""
    store = AuditStore(TableServiceClient.from_connection_string(direct_connection), world.names.audit)
    rows, token = [], None
    while True:
        page, token = store.query(since=UP - timedelta(days=1), until=MORNING + timedelta(days=1), limit=1000,
                                  continuation=token)
        rows += page
        if token is None:
            return rows


# -- what the clusters look like -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    workloads: dict  # (cluster, kind, namespace, name) -> replicas
    pools: dict  # (cluster, pool) -> (count, autoscaling, min, max, power, tags)
    annotations: dict  # (cluster, kind, namespace, name) -> original-replicas annotation or None


def sizes(emu: Any) -> Sizes:
    workloads, annotations, pools = {}, {}, {}
    for cluster, namespaces in MANAGED.items():
        view = emu.cluster(cluster)
        for kind in ("deployments", "statefulsets"):
            for namespace in namespaces:
                for obj in view.objects(kind, namespace):
                    key = (cluster, kind, namespace, obj["metadata"]["name"])
                    workloads[key] = obj["spec"].get("replicas", 1)
                    annotations[key] = (obj["metadata"].get("annotations") or {}).get(ORIGINAL_REPLICAS)
        for pool in view.pools():
            pools[(cluster, pool.name)] = (pool.count, pool.enable_auto_scaling, pool.min_count, pool.max_count,
                                           pool.power_state, dict(pool.tags))
    return Sizes(workloads, pools, annotations)


def lost_sizes(emu: Any, originals: Sizes) -> list[str]:
    """Every workload or pool whose original size is neither its current size nor remembered on it."""
    now, problems = sizes(emu), []
    for key, original in originals.workloads.items():
        if now.workloads[key] != original and now.annotations[key] != str(original):
            problems.append(f"{key}: at {now.workloads[key]}, remembers {now.annotations[key]}, was {original}")
    for key, original in originals.pools.items():
        current = now.pools[key]
        if current[:5] == original[:5]:
            continue
        remembered, _ = decode_original(current[5])
        if remembered is None or (remembered.count, remembered.enable_auto_scaling, remembered.min_count,
                                  remembered.max_count, remembered.power_state) != original[:5]:
            problems.append(f"pool {key}: at {current[:5]}, remembers {remembered}, was {original[:5]}")
    return problems


def not_down(emu: Any, originals: Sizes) -> list[str]:
    """Workloads and project pools that should be down (every project but platform-tools) and are not."""
    now, problems = sizes(emu), []
    for key, replicas in now.workloads.items():
        if key[2] not in ALWAYS_UP and replicas != 0:
            problems.append(f"{key} at {replicas}")
    for key in (("aks-demo", "projecta"), ("aks-demo", "gpu"), ("aks-private", "batch")):
        if now.pools[key][0] != 0:
            problems.append(f"pool {key} at {now.pools[key][0]}")
    return problems


def not_restored(emu: Any, originals: Sizes) -> list[str]:
    now = sizes(emu)
    problems = [f"{k}: {now.workloads[k]} != {v}" for k, v in originals.workloads.items() if now.workloads[k] != v]
    problems += [f"{k}: {now.annotations[k]} left" for k, v in now.annotations.items() if v is not None]
    problems += [f"pool {k}: {now.pools[k]} != {v}" for k, v in originals.pools.items() if now.pools[k] != v]
    problems += [f"pool {k}: bookkeeping tags left" for k, v in now.pools.items() if set(v[5]) & set(POOL_TAGS)]
    return problems
