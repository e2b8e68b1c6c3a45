"""A fleet-sized tick: 1,000 projects on 20 emulated clusters, 10,000 Deployments, 200 node pools.

    .venv/bin/python -m bench.tick_scale [--quick] [--memory-ticks N] [--rc-clusters N] [--naive-sample N]
                                         [--only run-command]

Emulator latency as in Azure (ARM ~150 ms a call, Kubernetes ~20 ms, run-command ~15 s a command);
`--quick` divides every latency by 10 and says so. The emulator runs in its own process (its CPU is
reported apart). For each access path it prints wall time, calls per endpoint and CPU of a no-op tick,
a mass scale-down tick and a mass scale-up tick; then, on the API path, each cluster's own critical path
(that cluster reconciled alone) against the full tick, the naive strategy (GET + PATCH per Deployment,
sequential) and the ratio, and traced memory over many no-op ticks.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.scale_world import EmulatorProcess, Fleet

UTC = UTC
UP = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # Monday 11:00 Berlin
DOWN = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # Monday 19:00 Berlin
MORNING = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)  # Tuesday 08:00 Berlin
LATENCY = {"arm": 0.150, "kube": 0.020, "run_command": 15.0}


@dataclass(frozen=True)
class Measured:
    label: str
    wall: float
    calls: Counter
    app_cpu: float
    emulator_cpu: float
    changes: int = 0
    failures: int = 0
    first_error: str | None = None

    def line(self) -> str:
        text = (
            f"{self.label:<36} {self.wall:7.2f} s wall {sum(self.calls.values()):6d} calls {self.changes:6d} "
            f"changes {self.failures:5d} failed  CPU app {self.app_cpu:5.1f} s, emulator {self.emulator_cpu:5.1f} s"
        )
        return text + (f"\n    first error: {self.first_error[:160]}" if self.first_error else "")


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args, self.fleet = args, Fleet(clusters=args.clusters)
        self.scale = 0.1 if args.quick else 1.0

    # -- set-up -------------------------------------------------------------------------------------
    def start(self, workdir: str) -> None:
        from scaling.reconcile import Context
        from scaling.settings import Settings
        from scaling.storage.tables import TableNames, ensure_tables, table_service
        from tests.fixtures.azurite import start_azurite

        self.azurite, self._azurite_process = start_azurite(workdir)
        self.emu = EmulatorProcess(
            self.fleet,
            {
                "pool_operation": 1.0,
                "run_command": LATENCY["run_command"] * self.scale,
                "ready": 1.0,
                "hpa_sync": 1.0,
                "lro_retry_after": 1.0,
            },
        )
        env = {**self.emu.info["env"], "SCALING_STORAGE_CONNECTION": self.azurite.connection_string}
        # Every cluster at once (the default of 16 would run 20 clusters in two waves).
        self.settings = dataclasses.replace(Settings.from_env(env), cluster_concurrency=32)
        self.names = TableNames(
            projects="BenchProjects", overrides="BenchOverrides", audit="BenchAudit", locks="BenchLocks"
        )
        ensure_tables(table_service(self.settings), self.names)
        poll = 1.0 * self.scale
        self.context = Context.from_settings(self.settings, table_names=self.names, run_command_poll=poll)

    def stop(self) -> None:
        self.emu.stop()
        self._azurite_process.terminate()

    def load_projects(self, access: str, *, clusters: int | None = None, projects: int | None = None) -> None:
        """The Projects table holds exactly the first `projects` of the first `clusters` clusters (default all)."""
        from scaling.storage.projects import ProjectStore
        from scaling.storage.rows import validate_rows
        from scaling.storage.tables import table_service

        loaded = validate_rows(self.fleet.project_rows(access, clusters=clusters, projects=projects))
        assert not loaded.errors, loaded.errors[:3]
        store = ProjectStore(table_service(self.settings), self.names)
        current = store.read()
        store.upsert(loaded.projects, current=current)
        store.prune([p.name for p in loaded.projects], current=current)  # the other clusters' rows go

    def fresh(self) -> None:
        """The fleet as configured (all up), with Azure-like latency on every call."""
        self.emu.call("reset")
        self.emu.call("slow", seconds=LATENCY["arm"] * self.scale, service="arm")
        self.emu.call("slow", seconds=LATENCY["kube"] * self.scale, service="kube")

    # -- measuring ----------------------------------------------------------------------------------
    def measure(self, label: str, run: Callable[[], Any]) -> Measured:
        self.emu.call("reset_calls")
        emulator_cpu, app_cpu, started = self.emu.call("cpu"), time.process_time(), time.perf_counter()
        report = run()
        wall = time.perf_counter() - started
        app_cpu, emulator_cpu = time.process_time() - app_cpu, self.emu.call("cpu") - emulator_cpu
        calls = Counter(self.emu.call("counters"))
        outcomes = getattr(report, "outcomes", ())
        failed = [o for o in outcomes if getattr(o.result, "value", "") == "failed"]
        return Measured(
            label,
            wall,
            calls,
            app_cpu,
            emulator_cpu,
            len(getattr(report, "changes", ())),
            len(failed),
            failed[0].error if failed else None,
        )

    def tick(self, at: datetime) -> Any:
        from scaling.reconcile import tick

        return tick(at, context=self.context)

    def three_ticks(self, path: str, *, noop_only: bool = False) -> list[Measured]:
        self.fresh()
        self.tick(UP)  # builds the clients: not what a running app pays each tick
        self.emu.call("finish_operations")
        results = [self.measure(f"{path}: no-op tick", lambda: self.tick(UP + timedelta(minutes=5)))]
        if noop_only:
            return results
        results.append(self.measure(f"{path}: mass scale-down tick", lambda: self.tick(DOWN)))
        self.emu.call("finish_operations")
        settle = self.tick(DOWN + timedelta(minutes=5))
        self.emu.call("finish_operations")
        results.append(self.measure(f"{path}: mass scale-up tick", lambda: self.tick(MORNING)))
        self.emu.call("finish_operations")
        after = self.tick(MORNING + timedelta(minutes=5))
        print(f"  (settling ticks after down / up: {len(settle.changes)} / {len(after.changes)} changes)")
        return results

    def isolated(self, clusters: int) -> list[float]:
        """Each cluster's own critical path for the scale-down: that cluster reconciled alone."""
        from scaling.names import cluster_id
        from scaling.reconcile import reconcile_cluster

        times = []
        for c in range(clusters):
            self.fresh()
            cluster = cluster_id(self.emu.info["cluster_ids"][self.fleet.cluster_name(c)])
            reconcile_cluster(cluster, UP + timedelta(minutes=5), self.context)  # warm, as in a running app
            started = time.perf_counter()
            reconcile_cluster(cluster, DOWN, self.context)
            times.append(time.perf_counter() - started)
        return times

    def naive(self, sample: int) -> Measured:
        """GET + PATCH per Deployment, one after the other, on the first `sample` Deployments."""
        import json

        from kubernetes import client as k8s

        from scaling.clusters.clients import Clients
        from scaling.names import cluster_id

        self.fresh()
        targets = [
            (c, self.fleet.project_name(c, p), f"app-{d}")
            for c in range(self.fleet.clusters)
            for p in range(self.fleet.projects_per_cluster)
            for d in range(self.fleet.deployments_per_project)
        ][:sample]
        clients = Clients(self.settings)
        apis = {
            c: k8s.AppsV1Api(clients.kube(cluster_id(self.emu.info["cluster_ids"][self.fleet.cluster_name(c)])))
            for c, _, _ in targets
        }

        def run() -> None:
            for c, namespace, name in targets:
                raw = apis[c].read_namespaced_deployment(name, namespace, _preload_content=False)
                current = json.loads(raw.data)
                body = {
                    "metadata": {
                        "annotations": {"aks-hours/original-replicas": str(current["spec"]["replicas"])},
                        "resourceVersion": current["metadata"]["resourceVersion"],
                    },
                    "spec": {"replicas": 0},
                }
                apis[c].patch_namespaced_deployment(name, namespace, body, _preload_content=False)

        return self.measure(f"naive: GET+PATCH x {sample}", run)

    def fanout(self) -> tuple[float, float, float]:
        """The fan-out's own costs on Azurite: the timer's load + one message per cluster (s), and a
        worker's lock acquire + release around a cluster's reconcile (median ms, and max ms)."""
        from scaling.fanout import Worker, enqueue_tick, ensure_queue, queue_client
        from scaling.storage.locks import LockStore
        from scaling.storage.tables import table_service

        queue = queue_client(self.settings, "bench-clusters")
        ensure_queue(queue)
        started = time.perf_counter()
        loaded = self.context.projects.load()
        enqueue_tick(queue, sorted({p.cluster for p in loaded.projects}), tick="bench1", tick_time=DOWN)
        timer = time.perf_counter() - started
        overheads: list[float] = []

        def reconcile(cluster: Any, now: datetime, tick: str) -> None:
            overheads.append(time.perf_counter())

        worker = Worker(
            locks=LockStore(table_service(self.settings), self.names.locks),
            audit=self.context.audit,
            reconcile=reconcile,
            owner="bench",
        )
        handled = []
        for _ in range(self.fleet.clusters):  # one message at a time, timed
            [message] = list(queue.receive_messages(max_messages=1)) or [None]
            if message is None:
                break
            began = time.perf_counter()
            worker.handle(message.content, message.dequeue_count, now=DOWN)
            queue.delete_message(message)
            handled.append((time.perf_counter() - began) * 1000)
        queue.delete_queue()
        return timer, statistics.median(handled), max(handled)

    def memory(self, ticks: int) -> list[tuple[int, float]]:
        """Traced memory (MB) after no-op ticks over the projects loaded, without latency (latency does not
        change what is allocated)."""
        self.emu.call("reset")
        self.tick(UP)
        self.emu.call("finish_operations")
        self.tick(UP)
        gc.collect()
        tracemalloc.start()
        series = []
        marks = {1, 10} | {round(ticks * k / 10) for k in range(1, 11)}
        for n in range(1, ticks + 1):
            self.tick(UP + timedelta(minutes=5 * (n % 12)))
            if n in marks:
                gc.collect()
                series.append((n, tracemalloc.get_traced_memory()[0] / 1e6))
        tracemalloc.stop()
        return series


def print_calls(measured: Measured) -> None:
    for (service, method, route), n in sorted(measured.calls.items()):
        print(f"    {n:6d}  {service:<5} {method:<6} {route}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every emulator latency divided by 10")
    parser.add_argument("--clusters", type=int, default=20, help="emulated clusters, 50 projects each (default 20)")
    parser.add_argument(
        "--memory-ticks",
        type=int,
        default=None,
        help="no-op ticks traced on 2 clusters (default 1000; quick 200); the whole fleet gets a tenth as many",
    )
    parser.add_argument(
        "--rc-clusters",
        type=int,
        default=None,
        help="clusters in the run-command scale-down/up ticks (default 2; quick 1)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=None,
        help="Deployments the naive strategy walks (default 1000; quick 300); its time for all 10,000 is extrapolated",
    )
    parser.add_argument("--only", choices=["run-command"], help="measure only the run-command path")
    args = parser.parse_args(argv)
    # Failed writes are counted in the figures, not printed one by one.
    logging.basicConfig(level=logging.ERROR, force=True)
    # The kubernetes client sets urllib3's logger to WARNING itself; the handler's level holds regardless.
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    memory_ticks = args.memory_ticks or (200 if args.quick else 1000)
    rc_clusters = args.rc_clusters or (1 if args.quick else 2)
    sample = args.naive_sample or (300 if args.quick else 1000)
    bench = Bench(args)
    fleet = bench.fleet
    print(
        f"# tick_scale: {fleet.projects:,} projects, {fleet.clusters} clusters, {fleet.deployments:,} Deployments, "
        f"{fleet.pools} node pools"
    )
    if args.quick:
        print("# --quick: emulator latency divided by 10 (ARM 15 ms, Kubernetes 2 ms, run-command 1.5 s)")
    else:
        print("# latency: ARM 150 ms a call, Kubernetes 20 ms a call, run-command 15 s a command")
    with tempfile.TemporaryDirectory(prefix="tick-scale-") as workdir:
        started = time.perf_counter()
        bench.start(workdir)
        try:
            bench.load_projects("api")
            print(
                f"# set-up {time.perf_counter() - started:.1f} s; concurrency {bench.settings.concurrency} writes per "
                f"cluster, {bench.settings.cluster_concurrency} clusters at once\n"
            )
            if args.only == "run-command":
                report_run_command(bench, fleet, rc_clusters)
            else:
                report(bench, fleet, rc_clusters, sample, memory_ticks)
        finally:
            bench.stop()


def report(bench: Bench, fleet: Fleet, rc_clusters: int, sample: int, memory_ticks: int) -> None:
    api = bench.three_ticks("api")
    for measured in api:
        print(measured.line())
        print_calls(measured)
    isolated = bench.isolated(fleet.clusters)
    slowest, down = max(isolated), api[1]
    print(
        f"\ncluster alone (scale-down): slowest {slowest:.2f} s, median {statistics.median(isolated):.2f} s "
        f"over {len(isolated)} clusters"
    )
    print(
        f"full scale-down tick / slowest cluster alone = {down.wall / slowest:.2f} (target <= 1.5); app CPU "
        f"{down.app_cpu:.1f} s for {down.changes:,} writes = {1000 * down.app_cpu / max(1, down.changes):.1f} ms "
        f"a write in one process"
    )
    noop_calls = sum(api[0].calls.values())
    print(
        f"no-op tick: {noop_calls} calls = {noop_calls / fleet.clusters:.1f} per cluster "
        f"(projects {fleet.projects:,}, Deployments {fleet.deployments:,}); writes: "
        f"{sum(n for (s, m, r), n in api[0].calls.items() if m in ('PUT', 'PATCH', 'POST', 'DELETE'))}"
    )

    timer, lock_ms, lock_max = bench.fanout()
    print(
        f"fan-out (SCALING_FANOUT=queue): the timer loads {fleet.projects:,} projects and sends {fleet.clusters} "
        f"messages in {timer:.2f} s; a worker's lock acquire + release + dequeue/delete costs {lock_ms:.0f} ms "
        f"(max {lock_max:.0f} ms) a cluster. With an instance per cluster a tick takes about the slowest cluster "
        f"alone + {lock_max / 1000:.2f} s + the trigger's poll (host.json maxPollingInterval 2 s): "
        f"{(slowest + lock_max / 1000) / slowest:.2f}x the slowest cluster, plus the poll"
    )

    naive = bench.naive(sample)
    full = naive.wall / sample * fleet.deployments
    print(f"\n{naive.line()}")
    print(
        f"naive for all {fleet.deployments:,} Deployments (extrapolated, sequential): {full:.0f} s and "
        f"{2 * fleet.deployments:,} calls; naive / app scale-down tick: {full / down.wall:.1f}x time, "
        f"{2 * fleet.deployments / max(1, sum(down.calls.values())):.1f}x calls"
    )

    report_run_command(bench, fleet, rc_clusters)

    bench.load_projects("api")
    full_fleet = max(20, memory_ticks // 10)
    series = bench.memory(full_fleet)
    print(f"\ntraced memory over {full_fleet} no-op ticks of the whole fleet (API path, no latency):")
    print_memory(series)
    bench.load_projects("api", clusters=2)
    series = bench.memory(memory_ticks)
    print(f"traced memory over {memory_ticks} no-op ticks of 2 clusters (100 projects, 1,000 Deployments):")
    print_memory(series)


def report_run_command(bench: Bench, fleet: Fleet, rc_clusters: int) -> None:
    bench.load_projects("run-command")
    rc_noop = bench.three_ticks(f"run-command ({fleet.clusters} clusters)", noop_only=True)[0]
    print(f"\n{rc_noop.line()}")
    print_calls(rc_noop)
    bench.load_projects("run-command", clusters=rc_clusters)
    for measured in bench.three_ticks(f"run-command ({rc_clusters} clusters)")[1:]:
        print(measured.line())
        print_calls(measured)


def print_memory(series: list[tuple[int, float]]) -> None:
    print("  " + "  ".join(f"{n}: {mb:.2f} MB" for n, mb in series))
    # A sample lands before or after short-lived objects are freed (a thread pool, a response), so single
    # samples jump; a leak lifts the whole band. Compare the bands of the two halves.
    warm = [mb for n, mb in series if n >= 10]
    half = len(warm) // 2
    first, second = warm[:half], warm[half:]
    print(
        f"  first half {min(first):.2f}-{max(first):.2f} MB, second half {min(second):.2f}-{max(second):.2f} MB "
        f"(floor {min(second) - min(first):+.2f} MB, peak {max(second) - max(first):+.2f} MB "
        f"over {series[-1][0]} ticks)"
    )


if __name__ == "__main__":
    main()
