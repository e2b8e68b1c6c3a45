"""AKS run-command in the emulator: real bash and real kubectl against the cluster, via the real SDK."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.containerservice.models import RunCommandRequest

from scaling.clusters import runscript

pytestmark = pytest.mark.integration

RG = "rg-aks-hours-demo"


def run(arm_client, cluster: str, command: str, **request):
    poller = arm_client.managed_clusters.begin_run_command(RG, cluster, RunCommandRequest(command=command, **request))
    return poller.result(timeout=60)


def test_runs_kubectl_against_the_clusters_own_api(arm_client, emu):
    result = run(arm_client, "aks-private", "kubectl get deployments -A -o name")
    assert (result.provisioning_state, result.exit_code) == ("Succeeded", 0)
    assert result.logs.split() == ["deployment.apps/batch-worker"]
    assert result.started_at and result.finished_at
    assert emu.calls("arm", "POST", "*/runCommand") == 1
    assert emu.calls("arm", "GET", "*/commandResults/{command}") >= 1
    assert emu.calls("kube", cluster="aks-private", route="/apis/apps/v1/deployments") == 1


def test_a_failing_command_reports_its_exit_code_and_stderr(arm_client):
    result = run(arm_client, "aks-demo", "echo to-stderr >&2; exit 3")
    assert (result.exit_code, result.logs) == (3, "to-stderr\n")


def test_the_result_waits_for_the_configured_delay(arm_client, emu):
    emu.set_delays(run_command=60)
    poller = arm_client.managed_clusters.begin_run_command(
        RG, "aks-demo", RunCommandRequest(command="true"), polling=False
    )
    location = poller.polling_method()._initial_response.http_response.headers["Location"]  # as az does
    command_id = location.split("/commandResults/")[1].split("?")[0]
    emu.runner.wait()
    assert arm_client.managed_clusters.get_command_result(RG, "aks-demo", command_id) is None  # 202: still running
    emu.finish_operations()
    assert arm_client.managed_clusters.get_command_result(RG, "aks-demo", command_id).exit_code == 0


def test_context_files_are_in_the_working_directory(arm_client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("patch.json", '{"spec":{"replicas":0}}')
    context = base64.b64encode(buffer.getvalue()).decode()
    result = run(arm_client, "aks-demo", "cat patch.json", context=context)
    assert result.logs == '{"spec":{"replicas":0}}'


def test_an_empty_context_and_a_cluster_token_are_accepted(arm_client):
    assert run(arm_client, "aks-demo", "echo ok", context="", cluster_token="any-token").logs == "ok\n"


def test_a_context_that_is_not_a_zip_is_400(arm_client):
    with pytest.raises(HttpResponseError) as caught:
        run(arm_client, "aks-demo", "true", context="bm90IGEgemlw")
    assert caught.value.status_code == 400 and "not a base64-encoded zip" in caught.value.message


def test_the_app_read_script_parses_on_a_keda_cluster(arm_client):
    logs = run(arm_client, "aks-private", runscript.read_script(["nightly-batch"])).logs
    sections = runscript.parse_read_output(logs)
    assert [d["metadata"]["name"] for d in sections["deployments"].items] == ["batch-worker"]
    assert [s["metadata"]["name"] for s in sections["scaledobjects"].items] == ["batch-worker"]


def test_the_app_read_script_sees_keda_absent_on_a_cluster_without_it(arm_client):
    logs = run(arm_client, "aks-demo", runscript.read_script(["project-a", "project-b"])).logs
    sections = runscript.parse_read_output(logs)
    assert sections["scaledobjects"].error == "absent"
    assert {h["metadata"]["name"] for h in sections["horizontalpodautoscalers"].items} == {"sample-app-a2"}
    assert [c["spec"]["schedule"] for c in sections["cronjobs"].items] == ["0 2 * * *"]


def test_the_app_write_script_patches_the_cluster(arm_client, emu):
    script = runscript.write_script(
        [
            runscript.ScriptPatch(
                "deployments.apps",
                "project-a",
                "sample-app-a",
                {"metadata": {"annotations": {"aks-hours/original-replicas": "2"}}, "spec": {"replicas": 0}},
            ),
            runscript.ScriptPatch("deployments.apps", "project-a", "missing", {"spec": {"replicas": 0}}),
        ]
    )
    results = runscript.parse_write_output(run(arm_client, "aks-demo", script).logs, expected=2)
    assert [r.ok for r in results] == [True, False]
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 0


def test_unpaused_keda_undoes_a_plain_scale_to_zero(arm_client, emu):
    patch = runscript.ScriptPatch("deployments.apps", "nightly-batch", "batch-worker", {"spec": {"replicas": 0}})
    run(arm_client, "aks-private", runscript.write_script([patch]))
    emu.advance(emu.delays.hpa_sync)
    assert emu.cluster("aks-private").deployment("nightly-batch", "batch-worker")["spec"]["replicas"] == 1


def test_injected_exit_code_is_reported_without_running_the_command(arm_client, emu):
    emu.fail_run_command("exit", exit_code=137, logs="OOMKilled", times=1)
    result = run(arm_client, "aks-demo", "kubectl scale deploy/sample-app-a -n project-a --replicas=0")
    assert (result.exit_code, result.logs) == (137, "OOMKilled")
    assert emu.cluster("aks-demo").deployment("project-a", "sample-app-a")["spec"]["replicas"] == 2


def test_injected_garbage_replaces_the_output(arm_client, emu):
    emu.fail_run_command("garbage", logs="\x00not-base64", cluster="aks-private")
    with pytest.raises(runscript.RunScriptError):
        runscript.parse_read_output(run(arm_client, "aks-private", runscript.read_script(["nightly-batch"])).logs)


def test_injected_truncation_is_detected_by_the_parser(arm_client, emu):
    emu.fail_run_command("truncate", limit=200)
    logs = run(arm_client, "aks-private", runscript.read_script(["nightly-batch"])).logs
    assert len(logs) == 200
    with pytest.raises(runscript.RunScriptError, match="ends early|unreadable"):
        runscript.parse_read_output(logs)


def test_injected_failure_is_a_failed_result_with_a_reason(arm_client, emu):
    emu.fail_run_command("failed", reason="KubernetesPerformanceError")
    result = run(arm_client, "aks-demo", "true")
    assert (result.provisioning_state, result.reason) == ("Failed", "KubernetesPerformanceError")


def test_a_throttled_submit_is_retried_after_retry_after(arm_client, emu):
    emu.throttle(service="arm", method="POST", route="*/runCommand", retry_after=0.05, times=1)
    assert run(arm_client, "aks-demo", "echo once").logs == "once\n"
    assert emu.calls("arm", "POST", "*/runCommand") == 2
    assert len(emu.commands) == 1
