"""Follow-through: how long "wake now" / "down now" take until the workloads are Ready / the pool is at 0,
with the timer alone (today's behaviour) and with follow-ups (SCALING_FOLLOW_UP_SECONDS), on the emulator.

    .venv/bin/python -m bench.followup_bench [--speed 10] [--phases 0.1,0.5,0.9]

Azurite and the emulator (cluster aks-demo, project-b alone: a Deployment and a StatefulSet on the GPU pool
`gpu`, Standard_NC4as_T4_v3, NodePoolAction zero). The app runs as `serve` runs it: the API in-process
(FastAPI's TestClient), a timer thread ticking on every 5-minute boundary, and, in the "follow-ups" mode,
scaling.followup.LocalFollowUps. The emulated time runs `--speed` times faster than the wall clock: the
app's clock, the timer, the follow-up delay and the emulator's delays are all divided by it, and every
figure is printed in emulated seconds. Realistic timings (emulator/timing.py, the modes of its spreads):
GPU node start to Ready 360 s + device plugin 45 s = 405 s for a pool to come up, 120 s to stop; pods
Ready 10 s after their node (ASSUMED, image cached). The app's own work (Azurite, the emulator's HTTP)
is real time, multiplied by the speed like everything else, so the figures are slightly pessimistic.

Scenarios, each after hours (Tuesday 21:00 Tokyo), each with the call landing at several points of the
5-minute tick interval (`--phases`, fractions of it):
- wake-after-down: project-b held up by an override, "down now", 10 s later "wake now" (the pool is still
  stopping, so the scale-up of the pool is busy); until every workload is Ready.
- wake: project-b down and settled, "wake now"; until every workload is Ready.
- down-after-wake: project-b down and settled, "wake now", 10 s later "down now" (the pool is still
  starting); until the pool is at 0 nodes with its operation finished.
- down: project-b held up and settled, "down now"; until the pool is at 0.
"Now" is `POST /api/v1/projects/project-b/override` with action up / down. The floor printed beside each
figure is what the machines alone need from the call on: the operation still running (if any) plus the
next one, plus pod readiness.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from emulator.config import Delays
from emulator.server import Emulator
from scaling.api.auth import AuthConfig
from scaling.followup import LocalFollowUps
from scaling.page.app import create_app
from scaling.reconcile import reconcile_cluster
from scaling.settings import Settings
from scaling.storage.tables import TableNames
from scaling.triggers import run_timer
from tests.fixtures.azurite import start_azurite
from tests.fixtures.emulator import SAMPLE
from tests.fixtures.reconcile_world import World, sample_projects

UTC = UTC
BASE = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # Tuesday 21:00 Tokyo: project-b after hours
TICK_S = 300.0
FOLLOW_UP_S = 20.0
GPU_UP_S = 360.0 + 45.0  # emulator/timing.py, Standard_NC4as_T4_v3: start-to-Ready mode + device plugin mode
GPU_DOWN_S = 120.0  # emulator/timing.py: stop mode
POD_READY_S = 10.0  # ASSUMED: image cached on the node
GAP_S = 10.0  # between the first and the second call
KEY = "bench-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
OVERRIDE = "/api/v1/projects/project-b/override"


class AppClock:
    """Emulated time: BASE plus the wall time since start, `speed` times faster."""

    def __init__(self, speed: float) -> None:
        self.speed = speed
        self.origin = time.monotonic()
        self.base = BASE

    def __call__(self) -> datetime:
        return self.base + timedelta(seconds=(time.monotonic() - self.origin) * self.speed)

    def sleep(self, emulated: float) -> None:
        time.sleep(max(0.0, emulated / self.speed))


class Ticker:
    """serve's timer: a tick at every 5-minute boundary of the emulated clock."""

    def __init__(self, context, clock: AppClock) -> None:
        self.context, self.clock = context, clock
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def next_boundary(self) -> datetime:
        now = self.clock()
        passed = (now - BASE).total_seconds() % TICK_S
        return now + timedelta(seconds=TICK_S - passed)

    def _loop(self) -> None:
        while not self.stop_event.is_set():
            due = self.next_boundary()
            wait = (due - self.clock()).total_seconds() / self.clock.speed
            if self.stop_event.wait(max(0.0, wait)):
                return
            try:
                run_timer(self.context, due)
            except Exception as exc:  # noqa: BLE001 - a bench keeps going; the figure shows it
                print(f"  tick failed: {exc}")

    def start(self) -> Ticker:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(30)


def workloads_ready(emu: Emulator) -> bool:
    cluster = emu.cluster("aks-demo")
    for kind, name in (("deployments", "triton-resnet50"), ("statefulsets", "model-cache")):
        obj = cluster.get(kind, "project-b", name)
        wanted = (obj.get("spec") or {}).get("replicas", 1)
        if wanted < 1 or (obj.get("status") or {}).get("readyReplicas", 0) < wanted:
            return False
    return True


def pool_at_zero(emu: Emulator) -> bool:
    pool = emu.cluster("aks-demo").pool("gpu")
    return pool.nodes == 0 and pool.count == 0 and pool.provisioning_state == "Succeeded"


def wait_until(done: Callable[[], bool], clock: AppClock, limit_s: float = 3600.0) -> float:
    """Emulated seconds until `done()` (polled every emulated second)."""
    started = time.monotonic()
    while not done():
        elapsed = (time.monotonic() - started) * clock.speed
        if elapsed > limit_s:
            return float("inf")
        time.sleep(1.0 / clock.speed)
    return (time.monotonic() - started) * clock.speed


def delays(speed: float, pool: float) -> dict[str, float]:
    return {"pool_operation": pool / speed, "ready": POD_READY_S / speed, "hpa_sync": 15 / speed, "run_command": 0}


def run_once(emu, settings, scenario: str, phase: float, follow: bool, speed: float, index: int) -> tuple[float, float]:
    """(emulated seconds from the second call to the goal, the machines' floor for it)."""
    emu.reset()
    emu.set_delays(**delays(speed, 0.0))
    tables = TableNames(*(f"fu{index}{t}" for t in ("Projects", "Overrides", "Audit", "Locks")))
    world = World.build(settings, tables, emu, sample_projects("project-b"))
    emu.set_delays(**delays(speed, 0.0))
    clock = AppClock(speed)
    context = world.context
    followups = None
    if follow:
        followups = LocalFollowUps(
            lambda cluster, now, tick: reconcile_cluster(cluster, now, context, tick_id=tick),
            delay=FOLLOW_UP_S / speed,
            clock=clock,
        )
        context.followups = followups
    app = create_app(
        lambda: context,
        dataclasses.replace(world.settings, api_key=KEY),
        clock=clock,
        auth=AuthConfig(api_key=KEY, behind_functions_host=False, trust_principal_header=False),
    )
    starts_up = scenario in ("wake-after-down", "down")
    with TestClient(app) as client:
        # The starting state, settled at once (before the clock matters).
        if starts_up:
            client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "evening demo"})
        else:
            run_timer(context, clock())
        emu.finish_operations()
        ticker = Ticker(context, clock)
        # Place the decisive call at `phase` of the tick interval.
        offset = ((clock() - BASE).total_seconds()) % TICK_S
        clock.sleep((phase * TICK_S - offset - (GAP_S if "after" in scenario else 0.0)) % TICK_S)
        ticker.start()
        try:
            floor = 0.0
            if scenario == "wake-after-down":
                emu.set_delays(**delays(speed, GPU_DOWN_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "done"})
                clock.sleep(GAP_S)
                emu.set_delays(**delays(speed, GPU_UP_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "one more run"})
                floor = (GPU_DOWN_S - GAP_S) + GPU_UP_S + POD_READY_S
                took = wait_until(lambda: workloads_ready(emu), clock)
            elif scenario == "wake":
                emu.set_delays(**delays(speed, GPU_UP_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "one more run"})
                floor = GPU_UP_S + POD_READY_S
                took = wait_until(lambda: workloads_ready(emu), clock)
            elif scenario == "down-after-wake":
                emu.set_delays(**delays(speed, GPU_UP_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "up", "reason": "one more run"})
                clock.sleep(GAP_S)
                emu.set_delays(**delays(speed, GPU_DOWN_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "not needed after all"})
                floor = (GPU_UP_S - GAP_S) + GPU_DOWN_S
                took = wait_until(lambda: pool_at_zero(emu), clock)
            else:  # down
                emu.set_delays(**delays(speed, GPU_DOWN_S))
                client.post(OVERRIDE, headers=AUTH, json={"action": "down", "reason": "done"})
                floor = GPU_DOWN_S
                took = wait_until(lambda: pool_at_zero(emu), clock)
        finally:
            ticker.stop()
            if followups is not None:
                followups.stop()
    return took, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--speed", type=float, default=20.0, help="emulated seconds per wall second")
    parser.add_argument("--phases", default="0.1,0.5,0.9", help="where in the tick interval the call lands")
    parser.add_argument("--scenarios", default="wake-after-down,wake,down-after-wake,down")
    args = parser.parse_args()
    logging.getLogger("scaling").setLevel(logging.ERROR)  # busy pools are expected here: no warning lines
    phases = [float(p) for p in args.phases.split(",")]
    print(f"speed x{args.speed:g}; GPU pool up {GPU_UP_S:.0f} s, down {GPU_DOWN_S:.0f} s, pods {POD_READY_S:.0f} s")
    print(f"{'scenario':<17} {'phase':>5} {'floor':>7} {'timer only':>11} {'follow-ups':>11}  (emulated s; overhead)")
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as workdir:
        azurite, process = start_azurite(workdir)
        try:
            base_delays = Delays(pool_operation=0, run_command=0, ready=0, hpa_sync=0, lro_retry_after=0.05)
            with Emulator(SAMPLE, delays=base_delays) as emu:
                settings = dataclasses.replace(Settings.from_env({}), storage_connection=azurite.connection_string)
                index = 0
                for scenario in args.scenarios.split(","):
                    # The busy cases depend on where in the tick interval the call lands; the others do not.
                    for phase in phases if "after" in scenario else [0.5]:
                        figures = []
                        for follow in (False, True):
                            index += 1
                            took, floor = run_once(emu, settings, scenario, phase, follow, args.speed, index)
                            figures.append(took)
                        timer_only, follow = (f"{t:7.0f} (+{t - floor:3.0f})" for t in figures)
                        print(f"{scenario:<17} {phase:5.2f} {floor:7.0f} {timer_only} {follow}", flush=True)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
