"""A seeded, bounded soak: a night of ticks with random faults at every layer, then ticks without faults.
At every tick no original size may be lost; at the end every workload and pool is exactly as it was.

Reproduce a failure with its seed: AKS_HOURS_SOAK_SEED=<seed> pytest tests/engine/test_soak.py.
"""

from __future__ import annotations

import os
import random
import time
from datetime import datetime, timedelta

import pytest

from scaling.clusters import clients
from scaling.model import Access
from scaling.triggers import run_timer
from tests.fixtures.fault_world import MORNING, UTC, StorageProxy, build_world, lost_sizes, not_restored, proxied, sizes

pytestmark = pytest.mark.integration

SEED = int(os.environ.get("AKS_HOURS_SOAK_SEED", "20261130"))
TIME_BUDGET_S = 30  # faults stop being injected after this long (a slow machine gets fewer faulty ticks)
# Monday evening to Tuesday morning (UTC; Berlin is UTC+1): the evening transition, the night, the GPU
# warm-up at 06:40 and the morning transition at 07:00, with ticks close together around each.
TICKS = [
    datetime(2026, 11, 30, h, m, tzinfo=UTC)
    for h, m in ((17, 30), (17, 55), (18, 0), (18, 5), (18, 10), (18, 15), (18, 30), (19, 0), (22, 0))
] + [
    datetime(2026, 12, 1, h, m, tzinfo=UTC)
    for h, m in ((2, 0), (6, 30), (6, 40), (6, 45), (6, 50), (6, 55), (7, 0), (7, 5), (7, 10), (7, 15), (7, 20))
]

ARM_PUT = dict(service="arm", method="PUT", route="*agentPools/{pool}")
KUBE_PATCH = dict(service="kube", route="*/{name}", method="PATCH")


def arm_429(emu, rng, cluster):
    emu.throttle(retry_after=0.05, cluster=cluster, times=rng.randint(1, 5), **ARM_PUT)


def arm_409(emu, rng, cluster):
    emu.fail(409, cluster=cluster, times=rng.randint(1, 3), **ARM_PUT)


def arm_5xx(emu, rng, cluster):
    emu.fail(rng.choice((500, 502, 503)), cluster=cluster, times=rng.randint(1, 5), **ARM_PUT)


def arm_list_5xx(emu, rng, cluster):
    emu.fail(503, service="arm", method="GET", route="*agentPools", cluster=cluster, times=rng.randint(1, 5))


def arm_timeout(emu, rng, cluster):
    emu.hang(1.5, cluster=cluster, times=1, **ARM_PUT)


def kube_409(emu, rng, cluster):
    emu.fail(409, cluster=cluster, times=rng.randint(1, 4), **KUBE_PATCH)


def kube_5xx(emu, rng, cluster):
    emu.fail(rng.choice((500, 503)), cluster=cluster, times=rng.randint(1, 4), **KUBE_PATCH)


def kube_list_5xx(emu, rng, cluster):
    emu.fail(500, service="kube", method="GET", cluster=cluster, times=rng.randint(1, 3))


def kube_slow(emu, rng, cluster):
    emu.slow(rng.uniform(0.01, 0.1), service="kube", cluster=cluster, times=rng.randint(1, 10))


FAULTS = [arm_429, arm_409, arm_5xx, arm_list_5xx, arm_timeout, kube_409, kube_5xx, kube_list_5xx, kube_slow]


@pytest.fixture
def proxy(azurite):
    host, port = azurite.table_endpoint.split("//")[1].split("/")[0].split(":")
    switch = StorageProxy(host, int(port))
    yield switch
    switch.cut()


def test_a_night_of_random_faults_loses_no_size_and_the_morning_is_exactly_as_before(
    settings, table_names, emu, azurite, proxy, monkeypatch
):
    monkeypatch.setattr(clients, "ARM_BACKOFF", 0.01)
    monkeypatch.setattr(clients, "ARM_READ_TIMEOUT", 0.5)
    storage = proxied(settings.storage_connection, azurite.table_endpoint, proxy)
    # Both clusters through the Kubernetes API: run-command faults have their own tests (a run-command
    # tick costs ~1.5 s in the emulator, too slow for a soak of this length).
    world = build_world(settings, table_names, emu, storage=storage, private_access=Access.API)
    originals = sizes(emu)
    rng = random.Random(SEED)
    started, log = time.monotonic(), []
    for at in TICKS:
        injected = []
        if time.monotonic() - started < TIME_BUDGET_S:
            for _ in range(rng.choice((0, 1, 1, 2, 3))):
                fault, cluster = rng.choice(FAULTS), rng.choice(("aks-demo", "aks-private"))
                fault(emu, rng, cluster)
                injected.append(f"{fault.__name__}@{cluster}")
            if rng.random() < 0.15:
                proxy.cut()
                injected.append("storage-down")
        try:
            run_timer(world.context, at)
        except Exception as exc:  # noqa: BLE001 - a tick without storage fails; the next one repairs
            injected.append(f"tick failed: {type(exc).__name__}")
        finally:
            proxy.restore()
            emu.clear_faults()
            emu.finish_operations()
        log.append(f"{at:%a %H:%M} {', '.join(injected) or '-'}")
        assert lost_sizes(emu, originals) == [], f"seed {SEED}:\n" + "\n".join(log)
    for minutes in (25, 30, 35, 40):  # no faults any more: the schedule says up
        run_timer(world.context, MORNING + timedelta(minutes=minutes))
        emu.finish_operations()
        if not not_restored(emu, originals):
            break
    assert not_restored(emu, originals) == [], f"seed {SEED}:\n" + "\n".join(log)
    assert world.context.audit.pending == 0  # rows kept during outages were written once storage was back
