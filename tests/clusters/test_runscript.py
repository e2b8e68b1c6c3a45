"""Run-command scripts: generated from validated names, executed by real bash/jq/gzip, parsed strictly."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from scaling.clusters.runscript import (
    MAX_PATCHES,
    OUTPUT_PER_PATCH,
    RunScriptError,
    ScriptPatch,
    parse_read_output,
    parse_write_output,
    read_script,
    write_script,
)
from scaling.names import InvalidName

DEPLOYMENT = {
    "kind": "Deployment",
    "metadata": {
        "namespace": "project-a",
        "name": "web",
        "resourceVersion": "7",
        "managedFields": [{"huge": "x" * 1000}],
        "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{...}",
            "aks-hours/original-replicas": "3",
        },
    },
    "spec": {
        "replicas": 0,
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [], "nodeSelector": {"agentpool": "gpu"}},
        },
    },
    "status": {"readyReplicas": 0},
}


def fake_kubectl(tmp_path: Path, *, lists: dict[str, list[dict]], fail: dict[str, str] | None = None) -> dict[str, str]:
    """A `kubectl` on PATH that answers `get <resource> ... -o json` from `lists`."""
    data = tmp_path / "lists.json"
    data.write_text(json.dumps(lists))
    script = tmp_path / "bin" / "kubectl"
    script.parent.mkdir()
    failures = json.dumps(fail or {})
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"lists = json.load(open({str(data)!r}))\n"
        f"fail = json.loads({failures!r})\n"
        "verb, resource = sys.argv[1], sys.argv[2]\n"
        "if verb == 'patch':\n"
        "    name = sys.argv[3]\n"
        "    if name in fail: print(fail[name], file=sys.stderr); sys.exit(1)\n"
        "    print(f'{resource}/{name} patched'); sys.exit(0)\n"
        "if resource in fail: print(fail[resource], file=sys.stderr); sys.exit(1)\n"
        "print(json.dumps({'kind': 'List', 'items': lists.get(resource, [])}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{script.parent}:{os.environ['PATH']}"}


def kubectl_script(tmp_path: Path, body: str) -> dict[str, str]:
    """An environment whose `kubectl` is the bash script `body` (for timing and output shapes)."""
    kubectl = tmp_path / "bin" / "kubectl"
    kubectl.parent.mkdir()
    kubectl.write_text(body)
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    return {**os.environ, "PATH": f"{kubectl.parent}:{os.environ['PATH']}"}


def run(script: str, env: dict[str, str]) -> str:
    """Run `script` as run-command does for the app: from a file (a command line holds only 128 KiB)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "aks-hours.sh"
        path.write_text(script)
        return subprocess.run(["bash", str(path)], env=env, capture_output=True, text=True, check=True).stdout


def test_read_script_returns_every_kind_slimmed_to_what_the_plan_needs(tmp_path):
    env = fake_kubectl(tmp_path, lists={"deployments.apps": [DEPLOYMENT]})
    sections = parse_read_output(run(read_script(["project-a"]), env))
    (deployment,) = sections["deployments"].items
    assert deployment["metadata"]["annotations"] == {"aks-hours/original-replicas": "3"}
    assert "managedFields" not in deployment["metadata"]
    # Of the pod template only what says which node pool the pods need is kept.
    assert deployment["spec"]["template"] == {
        "spec": {"nodeSelector": {"agentpool": "gpu"}, "affinity": {"nodeAffinity": None}}
    }
    assert sections["statefulsets"].items == ()


def test_read_script_drops_job_templates_and_keeps_running_jobs(tmp_path):
    cronjob = {
        "metadata": {"namespace": "project-a", "name": "reindex", "resourceVersion": "3"},
        "spec": {"schedule": "0 2 * * *", "suspend": False, "jobTemplate": {"spec": {"template": {"spec": {}}}}},
        "status": {"active": [{"kind": "Job", "name": "reindex-29000000"}]},
    }
    env = fake_kubectl(tmp_path, lists={"cronjobs.batch": [cronjob]})
    (seen,) = parse_read_output(run(read_script(["project-a"]), env))["cronjobs"].items
    assert "jobTemplate" not in seen["spec"] and seen["status"]["active"] == cronjob["status"]["active"]


def test_read_script_keeps_only_the_projects_namespaces_when_listing_all(tmp_path):
    other = json.loads(json.dumps(DEPLOYMENT))
    other["metadata"]["namespace"] = "someone-else"
    env = fake_kubectl(tmp_path, lists={"deployments.apps": [DEPLOYMENT, other]})
    sections = parse_read_output(run(read_script(["project-a", "project-b"]), env))
    assert [d["metadata"]["namespace"] for d in sections["deployments"].items] == ["project-a"]


def test_a_cluster_without_keda_is_not_an_error(tmp_path):
    env = fake_kubectl(
        tmp_path,
        lists={},
        fail={"scaledobjects.keda.sh": 'error: the server doesn\'t have a resource type "scaledobjects"'},
    )
    sections = parse_read_output(run(read_script(["project-a"]), env))
    assert sections["scaledobjects"].error == "absent"


def test_a_failed_list_fails_the_whole_read(tmp_path):
    env = fake_kubectl(tmp_path, lists={}, fail={"deployments.apps": "Error from server (Forbidden): cannot list"})
    with pytest.raises(RunScriptError, match="listing deployments failed.*Forbidden"):
        parse_read_output(run(read_script(["project-a"]), env))


@pytest.mark.parametrize(
    "logs",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage\n", id="garbage"),
        pytest.param("@@aks-hours:begin deployments@@\nH4sI\n", id="truncated"),
        pytest.param(
            "@@aks-hours:begin deployments@@\nnot-base64!\n@@aks-hours:end deployments rc=0@@\n@@aks-hours:done@@\n",
            id="bad-data",
        ),
    ],
)
def test_untrustworthy_read_output_is_rejected(logs):
    with pytest.raises(RunScriptError):
        parse_read_output(logs)


def test_names_are_validated_before_they_reach_the_script():
    with pytest.raises(InvalidName):
        read_script(["project-a; rm -rf /"])
    with pytest.raises(InvalidName):
        write_script([ScriptPatch("deployments.apps", "project-a", "$(reboot)", {"spec": {"replicas": 0}})])


def test_patch_bodies_are_shell_quoted(tmp_path):
    env = fake_kubectl(tmp_path, lists={})
    body = {"metadata": {"annotations": {"aks-hours/reason": "it's `late`; $(whoami)"}}}
    script = write_script([ScriptPatch("deployments.apps", "project-a", "web", body)])
    (result,) = parse_write_output(run(script, env), expected=1)
    assert result.ok and "patched" in result.output


def test_write_results_report_conflicts_per_patch(tmp_path):
    env = fake_kubectl(tmp_path, lists={}, fail={"db": "Error from server (Conflict): the object has been modified"})
    patches = [
        ScriptPatch("deployments.apps", "project-a", "web", {"spec": {"replicas": 0}}),
        ScriptPatch("statefulsets.apps", "project-a", "db", {"spec": {"replicas": 0}}),
    ]
    web, db = parse_write_output(run(write_script(patches), env), expected=2)
    assert web.ok and not web.conflict
    assert not db.ok and db.conflict
    assert db.output == "Error from server (Conflict): the object has been modified"  # no framing lines


def test_write_output_missing_results_is_rejected():
    with pytest.raises(RunScriptError, match="0 of 2 results"):
        parse_write_output("@@aks-hours:done@@\n", expected=2)


def test_jobs_are_read_but_never_patched():
    with pytest.raises(ValueError, match="cannot be patched"):
        write_script([ScriptPatch("jobs.batch", "project-a", "reindex-1", {"spec": {"suspend": True}})])


def test_parallel_patches_report_in_patch_order_whatever_order_they_finish(tmp_path):
    # the first patch finishes last
    env = kubectl_script(tmp_path, '#!/bin/bash\ncase "$3" in first) sleep 0.3;; esac\necho "$2/$3 patched"\n')
    names = ["first", "second", "third", "fourth"]
    patches = [ScriptPatch("deployments.apps", "project-a", name, {"spec": {"replicas": 0}}) for name in names]
    results = parse_write_output(run(write_script(patches, parallel=4), env), expected=4)
    assert [result.output for result in results] == [f"deployments.apps/{name} patched" for name in names]


def test_a_full_write_command_of_long_errors_fits_the_512_kB_output_limit(tmp_path):
    env = kubectl_script(
        tmp_path, f'#!/bin/bash\nprintf "Error from server: %0{OUTPUT_PER_PATCH * 3}d\\n" 0 >&2\nexit 1\n'
    )
    patches = [
        ScriptPatch("deployments.apps", "project-a", f"web-{index}", {"spec": {"replicas": 0}})
        for index in range(MAX_PATCHES)
    ]
    logs = run(write_script(patches, parallel=16), env)
    assert len(logs.encode()) <= 512 * 1000
    results = parse_write_output(logs, expected=MAX_PATCHES)
    assert all(not result.ok and len(result.output) <= OUTPUT_PER_PATCH for result in results)


def test_parallelism_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        write_script([], parallel=0)


def test_a_later_step_starts_only_when_every_patch_of_the_earlier_step_has_ended(tmp_path):
    log = tmp_path / "order.log"
    env = kubectl_script(
        tmp_path,
        f'#!/bin/bash\necho "start $3" >> {log}\n[ "$3" = slow ] && sleep 0.3\n'
        f'echo "end $3" >> {log}\necho "$2/$3 patched"\n',
    )
    patches = [
        ScriptPatch("scaledobjects.keda.sh", "project-a", "slow", {}, step=4),
        ScriptPatch("scaledobjects.keda.sh", "project-a", "quick", {}, step=4),
        ScriptPatch("deployments.apps", "project-a", "after", {"spec": {"replicas": 3}}, step=5),
    ]
    assert all(r.ok for r in parse_write_output(run(write_script(patches, parallel=8), env), expected=3))
    order = log.read_text().split("\n")
    assert order.index("start after") > max(order.index("end slow"), order.index("end quick"))


def test_a_conflict_after_long_warnings_is_still_seen_as_a_conflict(tmp_path):
    env = kubectl_script(
        tmp_path,
        '#!/bin/bash\nprintf "Warning: %0900d\\n" 0 >&2\n'
        'echo "Error from server (Conflict): the object has been modified" >&2\nexit 1\n',
    )
    patch = ScriptPatch("deployments.apps", "project-a", "web", {"spec": {"replicas": 0}})
    (result,) = parse_write_output(run(write_script([patch]), env), expected=1)
    assert result.conflict
