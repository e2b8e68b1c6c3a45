"""The run-command access path: the pure parts, then one read and one write command against the emulator."""

from __future__ import annotations

import pytest

from scaling.clusters.clients import Clients
from scaling.clusters.runcommand import RunCommandBackend, RunCommandError, _command_id
from scaling.names import ClusterId
from scaling.plan.actions import Direction, ObjectChange, Result, Why
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
        pytest.param(
            object_change(cluster=ClusterId(CLUSTER.subscription, "rg", "other")), "sent to aks1", id="wrong-cluster"
        ),
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


# --- against the emulator: real bash and kubectl inside the emulated run-command -------------------

from scaling.model import WorkloadKind, WorkloadRef  # noqa: E402


def emulator_backend(emu, **options) -> RunCommandBackend:
    emu.finish_operations()  # a settled cluster: no status write changes a resourceVersion mid-test
    settings = Settings(arm_endpoint=emu.arm_url, arm_ca_bundle=emu.ca_cert, local_credential=True)
    return RunCommandBackend(Clients(settings), poll_interval=options.pop("poll_interval", 0.05), **options)


def private(emu) -> ClusterId:
    return ClusterId(emu.subscription, emu.resource_group, "aks-private")


def demo(emu) -> ClusterId:
    return ClusterId(emu.subscription, emu.resource_group, "aks-demo")


def arm_calls(emu) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (service, method, route), number in emu.counters().items():
        if service == "arm":
            counts[f"{method} {route}"] = number
    return counts


def change_in(cluster: ClusterId, resource: str, namespace: str, name: str, patch: dict) -> ObjectChange:
    return ObjectChange(cluster, resource, namespace, name, patch, "b", "a", Direction.DOWN, Why("nightly-batch"))


@pytest.mark.integration
def test_observe_is_one_run_command(emu):
    seen = emulator_backend(emu).observe(private(emu), ["nightly-batch"])
    assert seen.error is None
    calls = arm_calls(emu)
    assert calls.pop("POST managedClusters/{cluster}/runCommand") == 1
    assert set(calls) == {"GET managedClusters/{cluster}/commandResults/{command}"}  # polling only
    (command,) = emu.commands
    assert command.exit_code == 0


@pytest.mark.integration
def test_observe_reads_workloads_and_keda_through_kubectl(emu):
    seen = emulator_backend(emu).observe(private(emu), ["nightly-batch"])
    worker = seen.workload(WorkloadRef(WorkloadKind.DEPLOYMENT, "nightly-batch", "batch-worker"))
    assert (worker.replicas, worker.node_pool) == (3, "batch")
    assert seen.keda_installed and seen.scaled_objects[0].target == worker.ref


@pytest.mark.integration
def test_observe_of_a_cluster_without_keda_is_not_an_error(emu):
    seen = emulator_backend(emu).observe(demo(emu), ["project-a", "project-b"])
    assert seen.error is None and not seen.keda_installed
    assert {w.ref.name for w in seen.workloads} == {"sample-app-a", "sample-app-a2", "triton-resnet50", "model-cache"}
    assert seen.hpas[0].target.name == "sample-app-a2" and seen.cronjobs[0].name == "nightly-reindex"


@pytest.mark.integration
def test_both_access_paths_see_the_same_cluster(emu):
    from scaling.clusters.kube import KubeApiBackend
    from tests.clusters.test_kube import emulator_settings

    by_command = emulator_backend(emu).observe(demo(emu), ["project-a", "project-b"])
    by_api = KubeApiBackend(Clients(emulator_settings(emu))).observe(demo(emu), ["project-a", "project-b"])
    assert by_command == by_api


@pytest.mark.integration
def test_write_is_one_run_command_and_round_trips(emu):
    backend, cluster = emulator_backend(emu), private(emu)
    seen = backend.observe(cluster, ["nightly-batch"])
    worker = seen.workload(WorkloadRef(WorkloadKind.DEPLOYMENT, "nightly-batch", "batch-worker"))
    emu.reset_calls()
    changes = [  # one call; the plan sends these in separate phases
        change_in(
            cluster,
            "scaledobjects.keda.sh",
            "nightly-batch",
            "batch-worker",
            {"metadata": {"annotations": {"autoscaling.keda.sh/paused-replicas": "0", "aks-hours/paused": "true"}}},
        ),
        change_in(
            cluster,
            "deployments.apps",
            "nightly-batch",
            "batch-worker",
            {
                "metadata": {
                    "resourceVersion": worker.resource_version,
                    "annotations": {"aks-hours/original-replicas": "3"},
                },
                "spec": {"replicas": 0},
            },
        ),
    ]
    outcomes = backend.apply(cluster, changes)
    assert [o.result for o in outcomes] == [Result.OK, Result.OK], [o.error for o in outcomes]
    assert arm_calls(emu)["POST managedClusters/{cluster}/runCommand"] == 1
    after = backend.observe(cluster, ["nightly-batch"])
    worker = after.workload(worker.ref)
    assert (worker.replicas, worker.original_replicas) == (0, 3)
    assert after.scaled_objects[0].paused_by_app and after.scaled_objects[0].paused_replicas == "0"


@pytest.mark.integration
def test_a_stale_write_is_busy_and_the_others_still_apply(emu):
    backend, cluster = emulator_backend(emu), private(emu)
    worker = backend.observe(cluster, ["nightly-batch"]).workloads[0]
    emu.cluster("aks-private").set_replicas("deployments", "nightly-batch", "batch-worker", 4)
    changes = [
        change_in(
            cluster,
            "deployments.apps",
            "nightly-batch",
            "batch-worker",
            {"metadata": {"resourceVersion": worker.resource_version}, "spec": {"replicas": 0}},
        ),
        change_in(
            cluster,
            "scaledobjects.keda.sh",
            "nightly-batch",
            "batch-worker",
            {"metadata": {"annotations": {"aks-hours/paused": "true"}}},
        ),
    ]
    stale, other = backend.apply(cluster, changes)
    assert stale.result is Result.BUSY and "re-read next tick" in stale.error
    assert other.result is Result.OK
    assert emu.cluster("aks-private").deployment("nightly-batch", "batch-worker")["spec"]["replicas"] == 4


@pytest.mark.integration
def test_a_failed_kubectl_patch_fails_that_change_with_its_output(emu):
    backend, cluster = emulator_backend(emu), private(emu)
    (outcome,) = backend.apply(
        cluster, [change_in(cluster, "deployments.apps", "nightly-batch", "gone", {"spec": {"replicas": 0}})]
    )
    assert outcome.result is Result.FAILED
    assert outcome.error.startswith("kubectl patch deployment/nightly-batch/gone failed: Error from server (NotFound)")


@pytest.mark.integration
@pytest.mark.parametrize(
    "fault, message",
    [
        pytest.param({"kind": "exit", "exit_code": 137, "logs": "Killed"}, "exited 137: Killed", id="non-zero-exit"),
        pytest.param({"kind": "garbage", "logs": "hello\n"}, "unexpected output", id="garbage"),
        pytest.param({"kind": "truncate", "limit": 200}, "output ends early", id="truncated"),
        pytest.param({"kind": "failed", "reason": "ImagePullBackoff"}, "ImagePullBackoff", id="command-failed"),
    ],
)
def test_an_untrustworthy_read_fails_the_clusters_look(emu, fault, message):
    emu.fail_run_command(**fault)
    seen = emulator_backend(emu).observe(private(emu), ["nightly-batch"])
    assert seen.error is not None and seen.error.startswith("run-command read:") and message in seen.error
    assert seen.workloads == ()


@pytest.mark.integration
def test_an_untrustworthy_write_fails_every_change_it_carried(emu):
    backend, cluster = emulator_backend(emu), private(emu)
    emu.fail_run_command("truncate", limit=40)
    changes = [
        change_in(cluster, "deployments.apps", "nightly-batch", "batch-worker", {"spec": {"replicas": 2}}),
        change_in(cluster, "deployments.apps", "nightly-batch", "Bad_Name", {"spec": {"replicas": 2}}),
    ]
    carried, refused = backend.apply(cluster, changes)
    assert carried.result is Result.FAILED and carried.error.startswith("run-command write:")
    assert refused.result is Result.FAILED and "DNS-1123" in refused.error


@pytest.mark.integration
def test_a_command_that_takes_too_long_is_given_up_with_the_reason(emu):
    emu.set_delays(run_command=30)
    seen = emulator_backend(emu, timeout=0.5).observe(private(emu), ["nightly-batch"])
    assert seen.error is not None and "no result after" in seen.error and "may still run" in seen.error
    emu.finish_operations()  # let the abandoned command end here, not in the next test's counters


@pytest.mark.integration
def test_a_big_namespace_is_still_one_list_per_kind_on_both_paths(emu):
    from emulator.manifests import workload
    from scaling.clusters.kube import KubeApiBackend
    from tests.clusters.test_kube import emulator_settings

    view = emu.cluster("aks-demo")
    for index in range(600):  # more than kubectl's default chunk of 500
        view.create(
            "deployments",
            workload(
                "deployments",
                "project-a",
                name=f"bulk-{index}",
                replicas=1,
                pool="projecta",
                image="nginx:1.27",
                labels={},
                annotations={},
            ),
        )
    emu.finish_operations()
    for backend in (emulator_backend(emu), KubeApiBackend(Clients(emulator_settings(emu)))):
        emu.reset_calls()
        seen = backend.observe(demo(emu), ["project-a"])
        assert seen.error is None and len(seen.workloads) == 602
        assert emu.calls(service="kube", method="GET", route="*/deployments") == 1


@pytest.mark.integration
def test_a_write_longer_than_a_command_line_travels_as_a_file_and_applies(emu):
    backend, cluster = emulator_backend(emu), demo(emu)
    note = "x" * 60_000  # three of these are over the 128 KiB a single command-line argument may hold
    changes = [
        change_in(cluster, "deployments.apps", namespace, name, {"metadata": {"annotations": {"note": note}}})
        for namespace, name in [
            ("project-a", "sample-app-a"),
            ("project-a", "sample-app-a2"),
            ("project-b", "triton-resnet50"),
        ]
    ]
    outcomes = backend.apply(cluster, changes)
    assert [o.result for o in outcomes] == [Result.OK] * 3, [o.error for o in outcomes]
    (command,) = emu.commands
    assert command.command == "bash aks-hours.sh" and command.files == ("aks-hours.sh",)
    assert emu.cluster("aks-demo").deployment("project-b", "triton-resnet50")["metadata"]["annotations"]["note"] == note


@pytest.mark.integration
def test_more_changes_than_one_command_carries_go_in_several_commands(emu, monkeypatch):
    monkeypatch.setattr("scaling.clusters.runcommand.MAX_PATCHES", 2)
    backend, cluster = emulator_backend(emu), demo(emu)
    changes = [
        change_in(cluster, "deployments.apps", namespace, name, {"spec": {"replicas": 0}})
        for namespace, name in [
            ("project-a", "sample-app-a"),
            ("project-a", "sample-app-a2"),
            ("project-b", "triton-resnet50"),
        ]
    ]
    outcomes = backend.apply(cluster, changes)
    assert [o.result for o in outcomes] == [Result.OK] * 3, [o.error for o in outcomes]
    assert arm_calls(emu)["POST managedClusters/{cluster}/runCommand"] == 2


def test_a_write_waits_for_each_plan_phase_before_the_next():
    class Capture(RunCommandBackend):
        scripts: list[str] = []

        def run(self, cluster, script):
            self.scripts.append(script)
            raise RunCommandError("captured")

    release = ObjectChange(
        CLUSTER, "scaledobjects.keda.sh", "project-a", "web", {}, "paused", "released", Direction.UP, Why("project-a")
    )
    restore = ObjectChange(
        CLUSTER,
        "deployments.apps",
        "project-a",
        "web",
        {"spec": {"replicas": 3}},
        "0",
        "3",
        Direction.UP,
        Why("project-a"),
    )
    backend = Capture(Clients(Settings(local_credential=True, arm_endpoint="https://127.0.0.1:9")))
    backend.apply(CLUSTER, [release, restore])
    (script,) = backend.scripts
    assert script.index("scaledobjects.keda.sh") < script.index("wait; running=0") < script.index("deployments.apps")
