"""Faults at the wire, one at a time, at the tick where every project goes down: no original size is lost,
the other cluster and projects carry on, the failure is in the audit, and the next ticks converge (down
that evening, and exactly as before the next morning)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import AzureError

from scaling.clusters import clients
from scaling.fanout import SYSTEM_PROJECT
from scaling.model import Access
from scaling.plan.actions import Result
from scaling.triggers import run_timer
from tests.fixtures.fault_world import (
    DOWN,
    MORNING,
    StorageProxy,
    all_audit,
    build_world,
    lost_sizes,
    not_down,
    not_restored,
    proxied,
    sizes,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PROJECTS_ON = {"aks-demo": ("project-a", "project-b"), "aks-private": ("nightly-batch",)}
OTHER = {"aks-demo": "aks-private", "aks-private": "aks-demo"}


@pytest.fixture(autouse=True)
def quick_arm(monkeypatch):
    """Our client's retry back-off and read timeout, shortened so a failing call ends in a second."""
    monkeypatch.setattr(clients, "ARM_BACKOFF", 0.01)
    monkeypatch.setattr(clients, "ARM_READ_TIMEOUT", 0.5)


def tick(world, at, **kwargs):
    report = run_timer(world.context, at, **kwargs)
    world.emu.finish_operations()
    return report


def converge(world, originals):
    """Without faults: down within two more ticks that evening; exactly as before within three ticks of
    the morning (the GPU pool warms up from 06:40)."""
    world.emu.clear_faults()
    for minutes in (5, 10):
        tick(world, DOWN + timedelta(minutes=minutes))
        assert lost_sizes(world.emu, originals) == []
        if not not_down(world.emu, originals):
            break
    assert not_down(world.emu, originals) == []
    for at in (MORNING - timedelta(minutes=20), MORNING, MORNING + timedelta(minutes=5)):
        tick(world, at)
        if at >= MORNING and not not_restored(world.emu, originals):
            break
    assert not_restored(world.emu, originals) == []


def unhappy_rows(world, cluster):
    return [
        r
        for r in world.audit(since=DOWN - timedelta(hours=1), until=DOWN + timedelta(hours=1))
        if r.project in PROJECTS_ON[cluster] and r.result in (Result.FAILED, Result.BUSY)
    ]


ARM_PUT = dict(service="arm", method="PUT", route="*agentPools/{pool}")
KUBE_PATCH = dict(service="kube", method="PATCH", route="*/deployments/{name}")
FAULTS = {
    "arm-429-retry-after": ("aks-demo", lambda emu: emu.throttle(retry_after=0.05, cluster="aks-demo", **ARM_PUT)),
    "arm-409-pool-busy": ("aks-demo", lambda emu: emu.fail(409, cluster="aks-demo", **ARM_PUT)),
    "arm-500": ("aks-demo", lambda emu: emu.fail(500, cluster="aks-demo", **ARM_PUT)),
    "arm-503-on-list": (
        "aks-demo",
        lambda emu: emu.fail(503, service="arm", method="GET", route="*agentPools", cluster="aks-demo"),
    ),
    "arm-timeout": ("aks-demo", lambda emu: emu.hang(2, cluster="aks-demo", **ARM_PUT)),
    "kube-409-conflict": ("aks-demo", lambda emu: emu.fail(409, cluster="aks-demo", **KUBE_PATCH)),
    "kube-500-on-patch": ("aks-demo", lambda emu: emu.fail(500, cluster="aks-demo", **KUBE_PATCH)),
    "kube-503-on-list": ("aks-demo", lambda emu: emu.fail(503, service="kube", method="GET", cluster="aks-demo")),
}
RUN_COMMAND_FAULTS = {
    "run-command-exit-1": (
        "aks-private",
        lambda emu: emu.fail_run_command("exit", exit_code=1, logs="error: boom", cluster="aks-private"),
    ),
    "run-command-garbage": (
        "aks-private",
        lambda emu: emu.fail_run_command("garbage", logs="\x00<html>oops</html>", cluster="aks-private"),
    ),
    "run-command-failed": ("aks-private", lambda emu: emu.fail_run_command("failed", cluster="aks-private")),
    "run-command-arm-500": (
        "aks-private",
        lambda emu: emu.fail(500, service="arm", method="POST", route="*runCommand", cluster="aks-private"),
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_loses_nothing_spares_the_others_is_audited_and_the_next_ticks_converge(
    settings, table_names, emu, fault
):
    cluster, inject = FAULTS[fault]
    world = build_world(settings, table_names, emu, private_access=Access.API)
    originals = sizes(world.emu)
    inject(world.emu)
    tick(world, DOWN)
    assert lost_sizes(world.emu, originals) == []
    other = OTHER[cluster]
    assert [p for p in not_down(world.emu, originals) if other in p] == [], "the other cluster went down anyway"
    assert unhappy_rows(world, cluster), f"no failed/busy audit row for {cluster}"
    assert unhappy_rows(world, other) == []
    converge(world, originals)


def test_run_command_faults_tick_after_tick_lose_nothing_spare_the_other_cluster_and_converge(
    settings, table_names, emu
):
    # One world for all of them: a run-command tick costs ~1.5 s (real kubectl in the emulator).
    world = build_world(settings, table_names, emu, private_access=Access.RUN_COMMAND)
    originals = sizes(world.emu)
    for n, (fault, (cluster, inject)) in enumerate(RUN_COMMAND_FAULTS.items()):
        at = DOWN + timedelta(minutes=n)
        world.emu.clear_faults()
        inject(world.emu)
        tick(world, at, tick_id=f"rc{n}")
        assert lost_sizes(world.emu, originals) == [], fault
        assert [p for p in not_down(world.emu, originals) if "aks-demo" in p] == [], fault
        assert [p for p in not_down(world.emu, originals) if "aks-private" in p] != [], fault
        assert [r for r in unhappy_rows(world, cluster) if r.tick == f"rc{n}"], f"{fault}: not audited"
    converge(world, originals)


def test_a_fault_on_one_object_leaves_the_other_objects_of_the_project_done(settings, table_names, emu):
    world = build_world(settings, table_names, emu, private_access=Access.API)
    originals = sizes(world.emu)
    world.emu.fail(500, times=1, cluster="aks-demo", **KUBE_PATCH)
    tick(world, DOWN)
    now = sizes(world.emu)
    deployments = [k for k in now.workloads if k[:2] == ("aks-demo", "deployments") and k[2] != "platform-tools"]
    still_up = [k for k in deployments if now.workloads[k] != 0]
    assert len(deployments) >= 3 and len(still_up) == 1  # the one whose PATCH failed; the others went down
    assert lost_sizes(world.emu, originals) == []
    converge(world, originals)


# -- Table Storage unavailable ---------------------------------------------------------------------------


@pytest.fixture
def proxy(azurite):
    host, port = azurite.table_endpoint.split("//")[1].split("/")[0].split(":")
    switch = StorageProxy(host, int(port))
    yield switch
    switch.cut()


@pytest.fixture
def cut_world(settings, table_names, emu, azurite, proxy):
    storage = proxied(settings.storage_connection, azurite.table_endpoint, proxy)
    return build_world(settings, table_names, emu, storage=storage, private_access=Access.API)


def test_a_tick_without_table_storage_changes_nothing_and_is_audited_when_storage_is_back(cut_world, proxy, settings):
    world = cut_world
    originals = sizes(world.emu)
    proxy.cut()
    world.emu.reset_calls()
    with pytest.raises(AzureError):  # Table Storage unreachable: the tick stops before any write
        tick(world, DOWN, tick_id="lost1")
    assert world.writes() == 0 and lost_sizes(world.emu, originals) == []
    proxy.restore()
    tick(world, DOWN + timedelta(minutes=5))
    [row] = [r for r in all_audit(world, settings.storage_connection) if r.tick == "lost1"]
    assert (row.project, row.target, row.result) == (SYSTEM_PROJECT, "tick", Result.FAILED)
    assert not_down(world.emu, originals) == []
    converge(world, originals)


def test_storage_lost_after_the_writes_keeps_the_changes_and_writes_their_audit_rows_later(cut_world, proxy, settings):
    world = cut_world
    originals = sizes(world.emu)
    world.emu.slow(0.3, cluster="aks-demo", **KUBE_PATCH)

    def cut_at_first_patch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not world.emu.calls(service="kube", method="PATCH"):
            time.sleep(0.01)
        proxy.cut()

    cutter = threading.Thread(target=cut_at_first_patch)
    cutter.start()
    report = tick(world, DOWN, tick_id="midway")
    cutter.join()
    assert any(c.audit_error for c in report.clusters)
    assert lost_sizes(world.emu, originals) == [] and not_down(world.emu, originals) == []
    proxy.restore()
    world.emu.clear_faults()
    tick(world, DOWN + timedelta(minutes=5))
    kept = [r for r in all_audit(world, settings.storage_connection) if r.tick == "midway"]
    assert {(r.project, r.target) for r in kept} >= {
        ("project-a", "deployment/project-a/sample-app-a"),
        ("project-a", "nodepool/projecta"),
        ("nightly-batch", "deployment/nightly-batch/batch-worker"),
    }
    assert all(r.result is Result.OK for r in kept if r.action.startswith("scale-"))
    converge(world, originals)


def test_rows_table_storage_lost_mid_tick_wait_in_the_spool_are_counted_and_the_next_run_writes_them(
    cut_world, proxy, settings, table_names, emu, tmp_path, caplog
):
    """Issue 22 point 5: Azurite gone mid-tick in a one-shot run (`reconcile --once`): the rows wait in the
    spool directory, the tick's telemetry counts them, and the next run, a new process, writes them."""
    from scaling.reconcile import tick as reconcile_tick
    from scaling.storage.audit_writer import FileSpool

    world = cut_world
    world.context.spool = FileSpool(tmp_path)
    world.emu.slow(0.3, cluster="aks-demo", **KUBE_PATCH)

    def cut_at_first_patch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not world.emu.calls(service="kube", method="PATCH"):
            time.sleep(0.01)
        proxy.cut()

    cutter = threading.Thread(target=cut_at_first_patch)
    cutter.start()
    with caplog.at_level("WARNING", logger="scaling.tick"):
        report = reconcile_tick(DOWN, context=world.context, tick_id="spooled")
    cutter.join()
    done = [o for o in report.changes if o.result is Result.OK]
    assert done and report.audit_pending >= len(done)
    assert any(getattr(r, "audit_pending", 0) == report.audit_pending for r in caplog.records)
    proxy.restore()
    world.emu.clear_faults()
    world.emu.finish_operations()
    storage = world.settings.storage_connection
    later = build_world(settings, table_names, emu, storage=storage, private_access=Access.API)
    later.context.spool = FileSpool(tmp_path)  # a new process: only the directory carries the rows over
    next_report = reconcile_tick(DOWN + timedelta(minutes=5), context=later.context, tick_id="drains")
    assert next_report.audit_drained == report.audit_pending and next_report.audit_pending == 0
    written = {(r.project, r.target) for r in all_audit(world, settings.storage_connection) if r.tick == "spooled"}
    assert {(o.action.why.project, o.action.target) for o in done} <= written
    assert not list(tmp_path.iterdir())


# -- the process dies between two writes -----------------------------------------------------------------

KILLED_TICK = """
import sys
from datetime import datetime
from scaling.reconcile import Context, tick
from scaling.settings import Settings
from scaling.storage.tables import TableNames
names = TableNames(*sys.argv[1:5])
context = Context.from_settings(Settings.from_env(), table_names=names, run_command_poll=0.02)
tick(datetime.fromisoformat(sys.argv[5]), context=context)
"""


def test_a_process_killed_between_the_workload_writes_and_the_pool_write_loses_no_size(
    settings, table_names, emu, tmp_path
):
    world = build_world(settings, table_names, emu, private_access=Access.API)
    originals = sizes(world.emu)
    world.emu.hang(30, cluster="aks-demo", **ARM_PUT)  # the pool PUT never gets an answer: kill meanwhile
    env = {**os.environ, "SCALING_STORAGE_CONNECTION": settings.storage_connection, **world.emu.env()}
    env["TMPDIR"] = str(tmp_path)  # a killed process cannot clean up its temp files: keep them in tmp_path
    names = world.names
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_TICK,
            names.projects,
            names.overrides,
            names.audit,
            names.locks,
            DOWN.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not world.emu.calls(service="arm", method="PUT", cluster="aks-demo"):
            assert process.poll() is None, "the tick ended before its pool write"
            time.sleep(0.02)
        assert world.emu.calls(service="kube", method="PATCH", cluster="aks-demo") > 0
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    demo = sizes(world.emu)
    assert demo.workloads[("aks-demo", "deployments", "project-a", "sample-app-a")] == 0
    assert demo.pools[("aks-demo", "projecta")][0] == originals.pools[("aks-demo", "projecta")][0]
    assert lost_sizes(world.emu, originals) == []
    converge(world, originals)
