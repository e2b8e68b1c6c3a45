"""The run-command access path (private clusters): all reads of a cluster in one AKS run-command, and
a command per write step (one per 1,000 objects). Scripts travel as a file in the command's `context`.

A command is submitted with `begin_run_command` (started, not awaited by the SDK: its poller would keep
a thread polling past any timeout) and its result fetched with `get_command_result` every
`poll_interval` seconds until `timeout`. The command runs as the app's identity: an Entra token for the
AKS server app goes along as `clusterToken`, as `az aks command invoke` does.
"""

from __future__ import annotations

import base64
import io
import re
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass

from azure.core.exceptions import AzureError
from azure.mgmt.containerservice.models import RunCommandRequest

from scaling.clusters import objects
from scaling.clusters.clients import Clients, StartOnly, arm_message
from scaling.clusters.runscript import (
    MAX_PATCHES,
    RunScriptError,
    ScriptPatch,
    parse_read_output,
    parse_write_output,
    read_script,
    write_script,
)
from scaling.names import ClusterId, InvalidName, dns1123_label
from scaling.plan.actions import ObjectChange, Outcome, Result
from scaling.plan.decide import phase_of
from scaling.plan.observed import ObservedCluster
from scaling.settings import AKS_SERVER_SCOPE

_COMMAND_ID = re.compile(r"/commandResults/([^/?]+)")
SCRIPT_FILE = "aks-hours.sh"
LOG_TAIL = 500  # characters of a failed command's output kept in the error


class RunCommandError(RuntimeError):
    """A run-command that did not give a usable result; the message says why."""


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    logs: str
    seconds: float


class RunCommandBackend:
    """Observe and patch workloads through AKS run-command, one command per read and one per write step."""

    def __init__(self, clients: Clients, *, poll_interval: float = 5.0, timeout: float = 240.0) -> None:
        self._clients = clients
        self._poll_interval = poll_interval
        self._timeout = timeout

    def observe(self, cluster: ClusterId, namespaces: Sequence[str], *, strays: bool = False) -> ObservedCluster:
        """Every managed kind in `namespaces`, in one run-command (one list call per kind inside it); with
        `strays`, also what holds the app's originals in other namespaces (scaling/plan/release.py)."""
        try:
            names = sorted({dns1123_label(ns, what="namespace") for ns in namespaces})
        except InvalidName as error:
            return ObservedCluster(cluster, error=str(error))
        if not names and not strays:
            return ObservedCluster(cluster)
        try:
            result = self.run(cluster, read_script(names, strays=strays))
            if result.exit_code != 0:
                raise RunCommandError(f"read script exited {result.exit_code}: {result.logs[-LOG_TAIL:]}")
            sections = parse_read_output(result.logs)
            lists = {name: list(section.items) for name, section in sections.items()}
            keda_installed = sections["scaledobjects"].error != "absent"
            return objects.observed_cluster(
                cluster, lists, namespaces=names, keda_installed=keda_installed, strays=strays
            )
        except (RunCommandError, RunScriptError) as error:
            return ObservedCluster(cluster, error=f"run-command read: {error}")
        except objects.ObjectError as error:
            return ObservedCluster(cluster, error=f"run-command read: unreadable object: {error}")

    def apply(self, cluster: ClusterId, changes: Sequence[ObjectChange], *, concurrency: int = 8) -> list[Outcome]:
        """Every change in one run-command (one per MAX_PATCHES), `concurrency` kubectl patches at a time
        within a plan phase, phase after phase (changes come in phase order).

        A change that cannot go into a script (bad name, unknown kind) fails alone; a command that fails,
        exits non-zero or prints unparseable output fails every change it carried."""
        outcomes: dict[int, Outcome] = {}
        carried: list[tuple[int, ScriptPatch]] = []
        for index, change in enumerate(changes):
            patch = ScriptPatch(change.resource, change.namespace, change.name, change.patch, phase_of(change))
            try:
                if change.cluster != cluster:
                    raise ValueError(f"change for {change.cluster.name} sent to {cluster.name}")
                write_script([patch])  # validates names and kind before the batch is built
            except ValueError as error:  # InvalidName is a ValueError
                outcomes[index] = Outcome(change, Result.FAILED, str(error))
                continue
            carried.append((index, patch))
        for first in range(0, len(carried), MAX_PATCHES):
            batch = carried[first : first + MAX_PATCHES]
            outcomes.update(self._write(cluster, changes, batch, concurrency))
        return [outcomes[index] for index in range(len(changes))]

    def _write(
        self,
        cluster: ClusterId,
        changes: Sequence[ObjectChange],
        batch: list[tuple[int, ScriptPatch]],
        concurrency: int,
    ) -> dict[int, Outcome]:
        """One write command for `batch` (indexes into `changes` and their patches); all fail if it fails."""
        indexes = [index for index, _ in batch]
        patches = [patch for _, patch in batch]
        started = time.monotonic()
        try:
            result = self.run(cluster, write_script(patches, parallel=max(1, concurrency)))
            if result.exit_code != 0:
                raise RunCommandError(f"write script exited {result.exit_code}: {result.logs[-LOG_TAIL:]}")
            results = parse_write_output(result.logs, expected=len(patches))
        except (RunCommandError, RunScriptError) as error:
            elapsed = int((time.monotonic() - started) * 1000)
            return {
                index: Outcome(changes[index], Result.FAILED, f"run-command write: {error}", elapsed)
                for index in indexes
            }
        elapsed = int(result.seconds * 1000)
        outcomes: dict[int, Outcome] = {}
        for index, patch_result in zip(indexes, results, strict=True):
            change = changes[index]
            if patch_result.ok:
                outcomes[index] = Outcome(change, Result.OK, None, elapsed)
            elif patch_result.conflict:
                message = f"{change.target} changed since it was read: re-read next tick"
                outcomes[index] = Outcome(change, Result.BUSY, message, elapsed)
            else:
                message = f"kubectl patch {change.target} failed: {patch_result.output[:LOG_TAIL]}"
                outcomes[index] = Outcome(change, Result.FAILED, message, elapsed)
        return outcomes

    def run(self, cluster: ClusterId, script: str) -> CommandResult:
        """Submit `script`, wait for its result (bounded), return exit code and output.

        The script travels as a file in the command's `context` (a base64 zip, as `az aks command invoke
        --file` sends it), not in `command`: a command line holds at most 128 KiB, which the writes of
        a few hundred objects exceed."""
        started = time.monotonic()
        operations = self._clients.arm(cluster.subscription).managed_clusters
        try:
            token = self._clients.credential.get_token(AKS_SERVER_SCOPE).token
            start = StartOnly()
            operations.begin_run_command(
                cluster.resource_group,
                cluster.name,
                RunCommandRequest(command=f"bash {SCRIPT_FILE}", context=script_context(script), cluster_token=token),
                polling=start,
            )
            result = start.resource()
            if result is None:
                command_id = _command_id(start.header("Location") or start.header("Azure-AsyncOperation") or "")
                deadline = started + self._timeout
                while result is None:
                    if time.monotonic() + self._poll_interval > deadline:
                        raise RunCommandError(
                            f"no result after {self._timeout:.0f}s (command {command_id} may still run;"
                            " the next tick reads the cluster again)"
                        )
                    time.sleep(self._poll_interval)
                    result = operations.get_command_result(cluster.resource_group, cluster.name, command_id)
        except AzureError as error:
            raise RunCommandError(f"run-command on {cluster.name} failed: {arm_message(error)}") from error
        state = str(result.provisioning_state or "").lower()
        if state == "failed" or result.exit_code is None:
            raise RunCommandError(
                f"run-command on {cluster.name} did not run the script"
                f" (state {result.provisioning_state or 'unknown'}: {result.reason or 'no reason given'})"
            )
        return CommandResult(int(result.exit_code), result.logs or "", time.monotonic() - started)


def script_context(script: str) -> str:
    """`script` as the run-command `context`: a base64 zip holding it as SCRIPT_FILE."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(SCRIPT_FILE, script)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _command_id(location: str) -> str:
    match = _COMMAND_ID.search(location)
    if not match:
        raise RunCommandError(f"run-command accepted without a result location (Location: {location[:200]!r})")
    return match.group(1)
