"""The emulator's configuration, command line, and behaviour under concurrent clients."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from emulator.config import Config, ConfigError, Delays

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "emulator" / "sample.yaml"


def minimal(**cluster) -> dict:
    base = {"name": "c1", "pools": [{"name": "system", "mode": "System"}]}
    return {"clusters": [{**base, **cluster}]}


def test_sample_mirrors_the_reference_setup():
    config = Config.load(SAMPLE)
    demo, private = config.clusters
    assert (config.subscription, config.resource_group) == ("00000000-0000-0000-0000-000000000000", "rg-aks-hours-demo")
    pools = {p.name: p for p in demo.pools}
    assert (pools["system"].mode, pools["system"].autoscaler) == ("System", (1, 3))
    assert (pools["projecta"].count, pools["projecta"].autoscaler) == (2, (0, 3))
    assert (pools["gpu"].vm_size, pools["gpu"].autoscaler) == ("Standard_NC4as_T4_v3", (0, 2))
    assert (private.private, private.keda, [p.name for p in private.pools]) == (True, True, ["system", "batch"])


def test_delays_accept_camel_case_and_reject_unknown_names():
    assert Delays.from_mapping({"poolOperation": 1, "ready": 0}).pool_operation == 1.0
    with pytest.raises(ConfigError, match="unknown delay 'poolOps'"):
        Delays.from_mapping({"poolOps": 1})


@pytest.mark.parametrize(
    "raw, message",
    [
        (minimal(pools=[{"name": "user1"}]), "needs at least one System pool"),
        (
            minimal(pools=[{"name": "System1", "mode": "System"}]),
            r"clusters\[0\].pools\[0\].name: 'System1' is not a valid agent pool name",
        ),
        (
            minimal(namespaces=[{"name": "ns", "deployments": [{"name": "a", "pool": "gpu"}]}]),
            r"namespaces\[0\].deployments\[0\].pool: 'gpu' is not a pool of this cluster",
        ),
        (
            minimal(namespaces=[{"name": "ns", "scaledobjects": [{"name": "a", "target": "a"}]}]),
            "does not have `keda: true`",
        ),
        (
            minimal(namespaces=[{"name": "ns", "deployments": [{"name": "a", "replicas": -1}]}]),
            "expected an integer >= 0",
        ),
        (minimal(pools=[{"name": "system", "mode": "System", "autoscaler": {"min": 2, "max": 1}}]), "autoscaler.max"),
        (minimal(colour="blue"), "unknown keys colour"),
        ({"clusters": []}, "at least one cluster"),
    ],
)
def test_bad_config_is_reported_with_where_it_is(raw, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_mapping(raw)


def test_a_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read emulator config"):
        Config.load(tmp_path / "nope.yaml")


@pytest.mark.integration
def test_command_line_prints_urls_cert_kubeconfig_and_env_lines():
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--config", str(SAMPLE)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip())
            if line.startswith("Ctrl-C"):
                break
        text = "\n".join(lines)
        exports = dict(line[len("export ") :].split("=", 1) for line in lines if line.startswith("export "))
        assert exports["SCALING_ARM_ENDPOINT"].startswith("https://127.0.0.1:")
        assert exports["SCALING_LOCAL_CREDENTIAL"] == "true"
        assert Path(exports["SCALING_ARM_CA_BUNDLE"]).is_file()
        assert "contexts: aks-demo, aks-private" in text
        kubeconfig = exports["SCALING_KUBECONFIG"]
        result = subprocess.run(
            ["kubectl", "--kubeconfig", kubeconfig, "--context", "aks-private", "get", "deploy", "-A", "-o", "name"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "HOME": str(Path(kubeconfig).parent)},
        )
        assert result.stdout.split() == ["deployment.apps/batch-worker"]
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
    assert not Path(exports["SCALING_KUBECONFIG"]).exists()  # its temporary directory is removed


def test_command_line_rejects_a_bad_config(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("clusters: 3\n")
    result = subprocess.run(
        [sys.executable, "-m", "emulator", "--config", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 2 and "clusters: expected a list" in result.stderr


@pytest.mark.integration
def test_concurrent_patches_on_one_resource_version_let_exactly_one_win(kube_client):
    apps = k8s.AppsV1Api(kube_client("aks-demo"))
    version = apps.read_namespaced_deployment("sample-app-a", "project-a").metadata.resource_version

    def patch(replicas: int) -> int:
        try:
            k8s.AppsV1Api(kube_client("aks-demo")).patch_namespaced_deployment(
                "sample-app-a", "project-a", {"metadata": {"resourceVersion": version}, "spec": {"replicas": replicas}}
            )
            return 200
        except ApiException as error:
            return error.status

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(patch, range(3, 19)))
    assert sorted(statuses) == [200] + [409] * 15


@pytest.mark.integration
def test_reset_restores_the_configured_state(emu):
    emu.cluster("aks-demo").set_replicas("deployments", "project-a", "sample-app-a", 0)
    emu.cluster("aks-demo").set_pool("gpu", count=0)
    emu.set_delays(ready=99)
    emu.reset()
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 2
    assert emu.cluster("aks-demo").pool("gpu").count == 1
    assert emu.delays.ready == 0.2
