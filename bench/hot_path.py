"""The write path's cost: CPU per change (audit included), a mass tick against the concurrency floor, and the
in-process fleet tick against its slowest cluster (the three goals of issue 23).

    .venv/bin/python -m bench.hot_path [--n 3000] [--repeat 3] [--no-fleet] [--profile] [--before REV]

One cluster of `--n` Deployments (one namespace of 10 per project, no node pools) in the emulator's own
process, Azurite for the tables, the app in this process:
- CPU per change: the app's process CPU (`time.process_time`, all threads) of a mass scale-down and a mass
  scale-up tick without latency, divided by the changes; the audit rows are written inside the tick;
- the mass ticks again with 20 ms on every Kubernetes call, against the floor `N x 20 ms / concurrency`;
- the 20-cluster fleet of bench/tick_scale.py (10,000 Deployments, 200 pools, ARM 150 ms, Kubernetes 20 ms):
  its mass scale-down tick against the slowest cluster reconciled alone.
Medians of `--repeat` runs. `--profile` prints cProfile's top functions of one mass scale-down tick.
`--before REV` first runs the same measures with REV's `scaling` package (taken with `git archive` into a
temporary directory; the bench, the emulator and the fixtures stay today's), then today's, and prints both.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.scale_world import EmulatorProcess, Fleet
from bench.tick_scale import DOWN, LATENCY, MORNING, UP

ROOT = Path(__file__).resolve().parents[1]
KUBE_LATENCY = LATENCY["kube"]
DELAYS = {"pool_operation": 1.0, "run_command": 1.0, "ready": 1.0, "hpa_sync": 1.0, "lro_retry_after": 1.0}


class OneCluster:
    """One emulated cluster of `n` Deployments and the app's context over it."""

    def __init__(self, n: int, workdir: str) -> None:
        from scaling.reconcile import Context
        from scaling.settings import Settings
        from scaling.storage.projects import ProjectStore
        from scaling.storage.rows import validate_rows
        from scaling.storage.tables import TableNames, ensure_tables, table_service
        from tests.fixtures.azurite import start_azurite

        self.fleet = Fleet(clusters=1, projects_per_cluster=n // 10, deployments_per_project=10, pools_per_cluster=1)
        self.azurite, self._azurite_process = start_azurite(workdir)
        self.emu = EmulatorProcess(self.fleet, DELAYS)
        env = {**self.emu.info["env"], "SCALING_STORAGE_CONNECTION": self.azurite.connection_string}
        self.settings = Settings.from_env(env)
        names = TableNames(projects="HotProjects", overrides="HotOverrides", audit="HotAudit", locks="HotLocks")
        service = table_service(self.settings)
        ensure_tables(service, names)
        loaded = validate_rows(self.fleet.project_rows("api"))
        store = ProjectStore(service, names)
        store.upsert(loaded.projects, current=store.read())
        self.context = Context.from_settings(self.settings, table_names=names)

    def stop(self) -> None:
        self.emu.stop()
        self._azurite_process.terminate()

    def tick(self, at: Any) -> Any:
        from scaling.reconcile import tick

        return tick(at, context=self.context)

    def mass_ticks(self, kube_latency: float, profile: ThreadProfile | None = None) -> list[dict[str, Any]]:
        """A mass scale-down and a mass scale-up tick from a fresh (all up) cluster."""
        self.emu.call("reset")
        self.emu.call("slow", seconds=kube_latency, service="kube")
        self.tick(UP)  # builds the clients and warms the caches, as in a running app
        self.emu.call("finish_operations")
        figures = []
        for label, at in (("down", DOWN), ("up", MORNING)):
            cpu, wall = time.process_time(), time.perf_counter()
            if profile is not None and label == "down":
                with profile:
                    report = self.tick(at)
            else:
                report = self.tick(at)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            changes = len(report.changes)
            failed = sum(1 for o in report.changes if o.result.value != "ok")
            rows = sum(c.rows for c in report.clusters)
            figures.append(
                {"label": label, "wall": wall, "cpu": cpu, "changes": changes, "failed": failed, "rows": rows}
            )
            self.emu.call("finish_operations")
            self.tick(at + timedelta(minutes=5))  # settles (nothing to change)
            self.emu.call("finish_operations")
        return figures


def measure_one_cluster(n: int, repeat: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hot-path-") as workdir:
        world = OneCluster(n, workdir)
        try:
            concurrency = world.settings.concurrency
            cpu_runs = [world.mass_ticks(0.0) for _ in range(repeat)]
            latency_runs = [world.mass_ticks(KUBE_LATENCY) for _ in range(repeat)]
            if profile:
                profiler = ThreadProfile()
                world.mass_ticks(0.0, profiler)
                profiler.print()
        finally:
            world.stop()
    floor = n * KUBE_LATENCY / concurrency
    return {"n": n, "concurrency": concurrency, "floor": floor, "cpu_runs": cpu_runs, "latency_runs": latency_runs}


def measure_fleet(repeat: int) -> dict[str, Any]:
    from bench.tick_scale import Bench

    bench = Bench(argparse.Namespace(quick=False, clusters=20))
    runs = []
    with tempfile.TemporaryDirectory(prefix="hot-path-fleet-") as workdir:
        bench.start(workdir)
        try:
            bench.load_projects("api")
            for _ in range(repeat):
                bench.fresh()
                bench.tick(UP)
                bench.emu.call("finish_operations")
                down = bench.measure("fleet: mass scale-down tick", lambda: bench.tick(DOWN))
                alone = bench.isolated(bench.fleet.clusters)
                runs.append(
                    {
                        "wall": down.wall,
                        "cpu": down.app_cpu,
                        "changes": down.changes,
                        "failed": down.failures,
                        "slowest": max(alone),
                        "median_alone": statistics.median(alone),
                    }
                )
        finally:
            bench.stop()
    return {"runs": runs}


class ThreadProfile:
    """cProfile in every thread started while it is entered (the tick's work runs in pool threads, which a
    profiler of the calling thread alone would see as one long wait)."""

    def __init__(self) -> None:
        self._profiles: list[cProfile.Profile] = []

    def _start(self, *_: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        self._profiles.append(profile)
        profile.enable()

    def __enter__(self) -> ThreadProfile:
        threading.setprofile(self._start)
        self._start()
        return self

    def __exit__(self, *_: Any) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        self._profiles[0].disable()

    def print(self) -> None:
        stats = pstats.Stats(*self._profiles)
        print(f"\n## cProfile of one mass scale-down tick (latency 0, {len(self._profiles)} threads): top by own time")
        stats.sort_stats("tottime").print_stats(30)
        print("## top by cumulative time")
        stats.sort_stats("cumulative").print_stats(60)


def summary(result: dict[str, Any]) -> list[str]:
    one, lines = result["one"], []
    n, floor = one["n"], one["floor"]
    for label in ("down", "up"):
        cpu = [r["cpu"] * 1000 / max(1, r["changes"]) for run in one["cpu_runs"] for r in run if r["label"] == label]
        walls = [r["wall"] for run in one["latency_runs"] for r in run if r["label"] == label]
        last = [r for r in one["cpu_runs"][-1] if r["label"] == label][0]
        lines.append(
            f"N={n} mass scale-{label}: CPU per change (latency 0, audit included) median "
            f"{statistics.median(cpu):.2f} ms "
            f"(runs {', '.join(f'{c:.2f}' for c in cpu)}); {last['changes']} changes, {last['failed']} not ok, "
            f"{last['rows']} audit rows"
        )
        lines.append(
            f"N={n} mass scale-{label} at {KUBE_LATENCY * 1000:.0f} ms a call: median {statistics.median(walls):.2f} s "
            f"(runs {', '.join(f'{w:.2f}' for w in walls)}); floor {floor:.2f} s (concurrency {one['concurrency']}); "
            f"ratio {statistics.median(walls) / floor:.2f} (goal <= 1.3)"
        )
    if "fleet" in result:
        for run in result["fleet"]["runs"]:
            lines.append(
                f"fleet mass scale-down: {run['wall']:.2f} s, {run['changes']} changes ({run['failed']} failed), "
                f"app CPU "
                f"{run['cpu']:.1f} s = {1000 * run['cpu'] / max(1, run['changes']):.2f} ms a change; slowest cluster "
                f"alone {run['slowest']:.2f} s (median {run['median_alone']:.2f} s); ratio "
                f"{run['wall'] / run['slowest']:.2f} (goal <= 3)"
            )
    return lines


def run_before(rev: str, argv: list[str]) -> list[str]:
    """The same measures with `rev`'s scaling package, in a child process; its summary lines."""
    with tempfile.TemporaryDirectory(prefix="hot-path-before-") as tree:
        archive = subprocess.run(["git", "archive", rev, "scaling"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", tree], input=archive.stdout, check=True)
        for shared in ("bench", "emulator", "tests", "node_modules"):
            os.symlink(ROOT / shared, Path(tree) / shared)
        child = subprocess.run(
            [sys.executable, "-m", "bench.hot_path", "--json", *argv],
            cwd=tree,
            check=True,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": tree},
        )
    result = json.loads(child.stdout.strip().splitlines()[-1])
    return summary(result)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="Deployments in the one-cluster runs (default 3000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measure (default 3; the fleet: 1)")
    parser.add_argument("--fleet-repeat", type=int, default=1, help="runs of the 20-cluster fleet (default 1)")
    parser.add_argument("--no-fleet", action="store_true", help="skip the 20-cluster fleet")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top of a mass scale-down tick")
    parser.add_argument("--before", metavar="REV", help="first measure REV's scaling package, then today's")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # the child of --before
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, force=True)
    logging.getLogger().handlers[0].setLevel(logging.ERROR)
    passed = [a for a in (argv if argv is not None else sys.argv[1:])]
    before = None
    if args.before:
        index = passed.index("--before")
        child_args = [a for a in passed[:index] + passed[index + 2 :] if a != "--profile"]
        before = run_before(args.before, child_args)
    result: dict[str, Any] = {"one": measure_one_cluster(args.n, args.repeat, args.profile)}
    if not args.no_fleet:
        result["fleet"] = measure_fleet(args.fleet_repeat)
    if args.json:
        print(json.dumps(result))
        return
    load = os.getloadavg()
    print(f"\n# hot_path on {os.cpu_count()} CPUs, load {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if before is not None:
        print(f"## before ({args.before})")
        print("\n".join(before))
        print("## after (this tree)")
    print("\n".join(summary(result)))


if __name__ == "__main__":
    main()
