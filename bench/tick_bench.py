"""Calls per tick and tick time over a simulated week of the sample projects (Azurite + the emulator).

    .venv/bin/python -m bench.tick_bench [--days 7] [--run-command-days 1]

Two scenarios, each a tick every 5 minutes from Monday 2026-11-23 00:00 UTC, with the emulator's pending
operations finished between ticks (as five minutes would):
- API path: cluster aks-demo (project-a, project-b with its GPU pool, platform-tools), `--days` days;
- run-command path: cluster aks-private (nightly-batch), `--run-command-days` days (each tick runs
  kubectl inside the emulator's run-command, so a day is ~288 s of wall time on a small machine).
Prints, per scenario: ticks, changes, tick time (no-op ticks and ticks with changes), and the calls per
tick by service and method (emulator counters), plus Table Storage calls (projects + overrides + audit).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from emulator.config import Delays
from emulator.server import Emulator
from scaling.settings import Settings
from scaling.storage.tables import TableNames
from tests.fixtures.azurite import start_azurite
from tests.fixtures.emulator import SAMPLE
from tests.fixtures.reconcile_world import World, sample_projects

UTC = UTC
START = datetime(2026, 11, 23, tzinfo=UTC)  # Monday
DELAYS = Delays(pool_operation=0.3, run_command=0, ready=0.2, hpa_sync=0.2, lro_retry_after=0.05)
# World.build then lengthens pool operations, readiness and controllers to 60 emulated seconds, which the
# emulator completes between ticks (finish_operations), so no controller races a tick's own patches.


def run(label: str, world: World, days: int) -> None:
    ticks = days * 24 * 12
    noop, busy = [], []
    per_tick: Counter = Counter()
    worst: Counter = Counter()
    changes = table_calls = 0
    for i in range(ticks):
        world.emu.reset_calls()
        started = time.perf_counter()
        report = world.tick(START + timedelta(minutes=5 * i), settle=False)
        elapsed = time.perf_counter() - started
        world.emu.finish_operations()
        calls = Counter()
        for (service, method, route), n in world.emu.counters().items():
            key = f"{service} {method}" + (" runCommand" if route.endswith("runCommand") else "")
            key += " commandResults" if "commandResults" in route else ""
            calls[key] += n
        per_tick.update(calls)
        for key, n in calls.items():
            worst[key] = max(worst[key], n)
        table_calls += 2 + report.audit_calls
        changes += len(report.changes)
        (busy if report.changes else noop).append(elapsed)
    print(f"\n## {label}: {ticks} ticks, {changes} changes, {len(busy)} ticks with changes")
    for name, values in (("no-op tick", noop), ("tick with changes", busy)):
        if values:
            values = sorted(values)
            print(
                f"{name:<18} mean {statistics.mean(values) * 1000:7.1f} ms   p50 "
                f"{values[len(values) // 2] * 1000:7.1f} ms   p95 {values[int(len(values) * 0.95)] * 1000:7.1f} ms"
                f"   max {values[-1] * 1000:7.1f} ms"
            )
    print(f"{'calls':<26} {'per tick (mean)':>16} {'max in one tick':>16}")
    for key in sorted(per_tick):
        print(f"{key:<26} {per_tick[key] / ticks:16.2f} {worst[key]:16d}")
    print(f"{'table storage':<26} {table_calls / ticks:16.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--run-command-days", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tick-bench-") as workdir:
        azurite, process = start_azurite(workdir)
        try:
            with Emulator(SAMPLE, delays=DELAYS) as emu:
                settings = dataclasses.replace(Settings.from_env({}), storage_connection=azurite.connection_string)
                scenarios = (
                    ("API path (aks-demo)", ("project-a", "project-b", "platform-tools"), args.days),
                    ("run-command path (aks-private)", ("nightly-batch",), args.run_command_days),
                )
                for index, (label, names, days) in enumerate(scenarios):
                    if days <= 0:
                        continue
                    emu.reset()
                    emu.set_delays(**dataclasses.asdict(DELAYS))
                    tables = TableNames(*(f"bench{index}{t}" for t in ("Projects", "Overrides", "Audit", "Locks")))
                    run(label, World.build(settings, tables, emu, sample_projects(*names)), days)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
