"""The run-command access path: the pure parts, then one read and one write command against the emulator."""

from __future__ import annotations

import pytest

from scaling.actions import Direction, ObjectChange, Result, Why
from scaling.clients import Clients
from scaling.names import ClusterId
from scaling.runcommand import RunCommandBackend, RunCommandError, _command_id
from scaling.settings import Settings

CLUSTER = ClusterId("00000000-0000-0000-0000-000000000001", "rg", "aks1")


def object_change(name: str = "web", resource: str = "deployments.apps", cluster: ClusterId = CLUSTER) -> ObjectChange:
    return ObjectChange(
        cluster, resource, "project-a", name, {"spec": {"replicas": 0}}, "2", "0", Direction.DOWN, Why("project-a")
    )


def test_the_command_id_is_read_from_the_result_location():
    location = (
        "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService"
        "/managedClusters/aks1/commandResults/0123456789abcdef0123456789abcdef?api-version=2026-08-01"
    )
    assert _command_id(location) == "0123456789abcdef0123456789abcdef"


def test_an_accepted_command_without_a_location_is_an_error():
    with pytest.raises(RunCommandError, match="without a result location"):
        _command_id("")


@pytest.mark.parametrize(
    "bad, message",
    [
        pytest.param(object_change(name="Web;reboot"), "not a DNS-1123", id="bad-name"),
        pytest.param(object_change(resource="secrets"), "cannot be patched", id="unknown-kind"),
        pytest.param(object_change(cluster=ClusterId(CLUSTER.subscription, "rg", "other")), "sent to aks1", id="wrong-cluster"),
    ],
)
def test_a_change_that_cannot_go_into_a_script_fails_alone_without_a_command(bad, message):
    backend = RunCommandBackend(Clients(Settings(local_credential=True, arm_endpoint="https://127.0.0.1:9")))
    (outcome,) = backend.apply(CLUSTER, [bad])
    assert outcome.result is Result.FAILED and message in outcome.error


def test_no_namespaces_means_nothing_to_read_and_no_command():
    backend = RunCommandBackend(Clients(Settings(local_credential=True, arm_endpoint="https://127.0.0.1:9")))
    seen = backend.observe(CLUSTER, [])
    assert seen.error is None and seen.workloads == ()
