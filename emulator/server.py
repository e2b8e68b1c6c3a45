"""The emulator as one object: start/stop its servers in threads, and the Python API tests use."""

from __future__ import annotations

import base64
import shutil
import ssl
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from emulator import arm, kube
from emulator.config import Config, Delays
from emulator.faults import Call, Calls, Fault, Faults
from emulator.http import Server
from emulator.runcommand import Command, Runner
from emulator.state import State
from emulator.views import ClusterView

TOKEN = "emulator-token"  # what the generated kubeconfigs send; any bearer token is accepted


class Emulator:
    """ARM on one port, one Kubernetes API per cluster on the next ports; all HTTPS with one throwaway CA
    (kubectl sends bearer tokens only over TLS)."""

    def __init__(
        self,
        config: Config | str | Path,
        *,
        delays: Delays | None = None,
        arm_port: int = 0,
        kube_port_base: int = 0,
        workdir: str | Path | None = None,
    ) -> None:
        self.config = config if isinstance(config, Config) else Config.load(config)
        self.state = State(self.config, delays)
        self.faults = Faults()
        self.calls_log = Calls()
        self._arm_port, self._kube_port_base = arm_port, kube_port_base
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="aks-emulator-"))
        self.runner = Runner(self.state, self.faults, self.workdir, self.cluster_kubeconfig, self._home)
        self._arm: Server | None = None
        self._kube: dict[str, Server] = {}

    # -- life cycle ----------------------------------------------------------------------------
    def start(self) -> Emulator:
        from emulator import certs

        tls_files = certs.generate(self.workdir / "tls")
        self.ca_cert = tls_files.ca_cert
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_files.server_cert, tls_files.server_key)
        try:
            for index, cluster in enumerate(self.config.clusters):
                port = self._kube_port_base + index if self._kube_port_base else 0
                self._kube[cluster.name] = Server(
                    port,
                    service="kube",
                    cluster=cluster.name,
                    router=kube.build_router(self.state, cluster.name),
                    faults=self.faults,
                    calls=self.calls_log,
                    render_error=kube.render_error,
                    tls=context,
                ).start()
            self._arm = Server(
                self._arm_port,
                service="arm",
                cluster="",
                router=arm.build_router(
                    self.state, self.runner, self.faults, self.kube_url, lambda: Path(self.ca_cert).read_bytes()
                ),
                faults=self.faults,
                calls=self.calls_log,
                render_error=arm.render_error,
                tls=context,
            ).start()
        except OSError:
            self.stop()
            raise
        self._write_kubeconfigs()
        return self

    def stop(self) -> None:
        self.runner.stop()
        for server in [self._arm, *self._kube.values()]:
            if server is not None:
                server.stop()
        self._arm, self._kube = None, {}
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Back to the configured state and delays; no faults, no recorded calls, no run-commands."""
        self.runner.reset()
        self.faults.clear()
        self.calls_log.clear()
        self.state.reset()

    # -- where things are ----------------------------------------------------------------------
    @property
    def arm_url(self) -> str:
        assert self._arm is not None, "the emulator is not started"
        return f"https://127.0.0.1:{self._arm.port}"

    def kube_url(self, cluster: str) -> str:
        return f"https://127.0.0.1:{self._kube[cluster].port}"

    @property
    def subscription(self) -> str:
        return self.config.subscription

    @property
    def resource_group(self) -> str:
        return self.config.resource_group

    def cluster_id(self, cluster: str) -> str:
        return self.state.cluster(cluster).id

    @property
    def kubeconfig(self) -> str:
        """One kubeconfig with a context per cluster, named after the cluster."""
        return str(self.workdir / "kubeconfig")

    def cluster_kubeconfig(self, cluster: str) -> Path:
        return self.workdir / "clusters" / cluster / "kubeconfig"

    def _home(self, cluster: str) -> Path:
        return self.workdir / "clusters" / cluster / "home"

    def env(self) -> dict[str, str]:
        """The app settings that point the app at this emulator."""
        return {
            "SCALING_ARM_ENDPOINT": self.arm_url,
            "SCALING_ARM_CA_BUNDLE": self.ca_cert,
            "SCALING_KUBECONFIG": self.kubeconfig,
            "SCALING_LOCAL_CREDENTIAL": "true",
        }

    def _write_kubeconfigs(self) -> None:
        def document(names: list[str]) -> dict[str, Any]:
            return {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": names[0],
                "clusters": [
                    {"name": n, "cluster": {"server": self.kube_url(n), "certificate-authority-data": ca_data}}
                    for n in names
                ],
                "users": [{"name": f"{n}-user", "user": {"token": TOKEN}} for n in names],
                "contexts": [{"name": n, "context": {"cluster": n, "user": f"{n}-user"}} for n in names],
            }

        ca_data = base64.b64encode(Path(self.ca_cert).read_bytes()).decode()
        names = [c.name for c in self.config.clusters]
        Path(self.kubeconfig).write_text(yaml.safe_dump(document(names), sort_keys=False))
        for name in names:
            self.cluster_kubeconfig(name).parent.mkdir(parents=True, exist_ok=True)
            self._home(name).mkdir(parents=True, exist_ok=True)
            self.cluster_kubeconfig(name).write_text(yaml.safe_dump(document([name]), sort_keys=False))
        for path in [Path(self.kubeconfig), *(self.cluster_kubeconfig(n) for n in names)]:
            path.chmod(0o600)

    # -- time ----------------------------------------------------------------------------------
    @property
    def delays(self) -> Delays:
        return self.state.delays

    def set_delays(self, **seconds: float) -> Delays:
        """Change delays until the next reset, e.g. `set_delays(pool_operation=0, ready=0)`."""
        return self.state.set_delays(**seconds)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward: operations, readiness and controllers catch up."""
        self.state.advance(seconds)

    def finish_operations(self) -> None:
        """Make everything pending finish now: pool operations, run-command delays, pods, controllers."""
        self.runner.wait()
        self.state.finish_operations()

    # -- faults and counters -------------------------------------------------------------------
    def add_fault(self, kind: str, **match: Any) -> Fault:
        """Add a rule, e.g. `add_fault("status", service="arm", method="PUT", route="*agentPools/*",
        status=429, retry_after=1, times=2)`. See emulator.faults for kinds and fields."""
        return self.faults.add(Fault(kind=kind, **match))

    def throttle(self, *, retry_after: float = 1, **match: Any) -> Fault:
        return self.add_fault("status", status=429, retry_after=retry_after, **match)

    def fail(self, status: int = 500, **match: Any) -> Fault:
        return self.add_fault("status", status=status, **match)

    def drop(self, **match: Any) -> Fault:
        return self.add_fault("drop", **match)

    def hang(self, seconds: float, **match: Any) -> Fault:
        return self.add_fault("timeout", seconds=seconds, **match)

    def slow(self, seconds: float, **match: Any) -> Fault:
        return self.add_fault("latency", seconds=seconds, **match)

    def fail_run_command(self, kind: str = "exit", **fields: Any) -> Fault:
        """Run-command faults: kind exit (exit_code, logs), garbage (logs), truncate (limit), failed (reason)."""
        return self.add_fault(kind, service="runcommand", **fields)

    def fail_pool_operation(
        self,
        *,
        cluster: str = "*",
        pool: str = "*",
        code: str = "AllocationFailed",
        message: str | None = None,
        times: int | None = 1,
    ) -> Fault:
        """The next agent pool operation(s) accepted for `pool` end Failed with `code` (ARM error) and the
        pool shows provisioningState Failed; its nodes stay as they were."""
        return self.add_fault(
            "failed", service="pool-operation", cluster=cluster, route=pool, code=code, message=message, times=times
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def calls(
        self,
        service: str | None = None,
        method: str | None = None,
        route: str | None = None,
        cluster: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many requests matched; `route` is a glob over the route template or the concrete path."""
        return len(self.calls_log.select(service, method, route, cluster, status))

    def call_log(self, **match: Any) -> list[Call]:
        return self.calls_log.select(**match)

    def counters(self) -> Counter:
        """Requests per (service, method, route template)."""
        return self.calls_log.counter()

    def reset_calls(self) -> None:
        self.calls_log.clear()

    # -- objects -------------------------------------------------------------------------------
    def cluster(self, name: str) -> ClusterView:
        self.state.cluster(name)  # raises KeyError naming the clusters
        return ClusterView(self.state, name)

    @property
    def commands(self) -> list[Command]:
        """Every run-command since the last reset."""
        return self.runner.commands
