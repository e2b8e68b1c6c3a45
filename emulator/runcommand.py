"""AKS run-command: each command runs in real `bash` with the real `kubectl` pointed at its cluster.

Real run-command starts a `command-<id>` pod in the `aks-command` namespace; here the command runs
as a local process whose KUBECONFIG points at the cluster's emulated API and whose HOME (so the
kubectl discovery cache) is per cluster. The `context` (base64 zip of attached files) is unpacked
into the working directory. Output (stdout + stderr, as pod logs mix them) is capped at 512 kB.
"""

from __future__ import annotations

import base64
import binascii
import io
import os
import shutil
import subprocess
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from emulator.faults import Fault, Faults
from emulator.state import State

LOG_LIMIT = 512 * 1024
TIMEOUT = 300.0  # seconds before a command is killed
ROUTE = "managedClusters/{cluster}/runCommand"


class CommandError(ValueError):
    """A run-command request that cannot run; the message says why."""


@dataclass
class Command:
    """One run-command as submitted, and its result once finished."""

    id: str
    cluster: str
    command: str
    files: tuple[str, ...]
    ready_at: float  # emulator clock: the result is not shown before this
    started_at: str
    finished_at: str | None = None
    exit_code: int | None = None
    logs: str = ""
    provisioning_state: str = "Running"
    reason: str | None = None
    done: threading.Event = field(default_factory=threading.Event, repr=False)

    def result(self) -> dict:
        props = {
            "provisioningState": self.provisioning_state,
            "exitCode": self.exit_code,
            "startedAt": self.started_at,
            "finishedAt": self.finished_at,
            "logs": self.logs,
        }
        if self.reason:
            props["reason"] = self.reason
        return {"id": self.id, "properties": props}


class Runner:
    """Runs commands in threads; keeps every command since the last reset for tests to inspect."""

    def __init__(
        self,
        state: State,
        faults: Faults,
        workdir: Path,
        kubeconfig_for: Callable[[str], Path],
        home_for: Callable[[str], Path],
    ) -> None:
        self._state, self._faults, self._workdir = state, faults, workdir
        self._kubeconfig_for, self._home_for = kubeconfig_for, home_for
        self._lock = threading.Lock()
        self._commands: dict[str, Command] = {}
        self._processes: dict[str, subprocess.Popen] = {}

    @property
    def commands(self) -> list[Command]:
        with self._lock:
            return list(self._commands.values())

    def get(self, command_id: str) -> Command | None:
        with self._lock:
            return self._commands.get(command_id)

    def ready(self, command: Command) -> bool:
        return command.done.is_set() and self._state.clock.now() >= command.ready_at

    def submit(self, cluster: str, body: object) -> Command:
        if not isinstance(body, dict) or not isinstance(body.get("command"), str) or not body["command"].strip():
            raise CommandError("Required parameter properties.command is missing (null) or empty.")
        files = _unzip_names(body.get("context"))
        _, fault = self._faults.take("runcommand", "POST", ROUTE, cluster)
        with self._state.lock:
            command = Command(
                id=uuid.uuid4().hex,
                cluster=cluster,
                command=body["command"],
                files=files,
                ready_at=self._state.clock.now() + self._state.delays.run_command,
                started_at=self._state.clock.wall_text(),
            )
        with self._lock:
            self._commands[command.id] = command
        threading.Thread(
            target=self._run,
            args=(command, body.get("context"), fault),
            name=f"runcommand-{command.id[:8]}",
            daemon=True,
        ).start()
        return command

    def _run(self, command: Command, context: str | None, fault: Fault | None) -> None:
        directory = self._workdir / "runcommand" / command.id
        try:
            if fault is not None and fault.kind == "failed":
                command.provisioning_state, command.reason = "Failed", fault.reason
                command.logs = fault.logs or ""
                return
            if fault is not None and fault.kind == "exit":
                command.provisioning_state, command.exit_code = "Succeeded", fault.exit_code
                command.logs = (
                    fault.logs
                    if fault.logs is not None
                    else f"command terminated with exit code {fault.exit_code} [injected by the emulator]\n"
                )
                return
            directory.mkdir(parents=True, exist_ok=True)
            if context:
                with zipfile.ZipFile(io.BytesIO(base64.b64decode(context))) as archive:
                    archive.extractall(directory)  # extractall strips absolute paths and '..'
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "HOME": str(self._home_for(command.cluster)),
                "KUBECONFIG": str(self._kubeconfig_for(command.cluster)),
                "LANG": "C.UTF-8",
            }
            process = subprocess.Popen(
                ["bash", "-c", command.command],
                cwd=directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            with self._lock:
                self._processes[command.id] = process
            try:
                output, _ = process.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            logs = output.decode("utf-8", errors="replace")
            if len(logs.encode()) > LOG_LIMIT:
                logs = logs.encode()[:LOG_LIMIT].decode("utf-8", errors="ignore")
            if fault is not None and fault.kind == "garbage":
                logs = fault.logs if fault.logs is not None else "\x00\x1b[31mgarbage\x1b[0m not what you asked for\n"
            elif fault is not None and fault.kind == "truncate":
                logs = logs[: fault.limit]
            command.provisioning_state, command.exit_code, command.logs = "Succeeded", process.returncode, logs
        except Exception as error:  # noqa: BLE001 - a broken command must still finish, as Failed
            command.provisioning_state, command.reason, command.logs = "Failed", "EmulatorError", str(error)
        finally:
            with self._lock:
                self._processes.pop(command.id, None)
            command.finished_at = self._state.clock.wall_text()
            command.done.set()
            shutil.rmtree(directory, ignore_errors=True)

    def wait(self, timeout: float = 30.0) -> None:
        """Block until every submitted command's process has ended (not counting the extra delay)."""
        for command in self.commands:
            command.done.wait(timeout)

    def reset(self) -> None:
        self.stop()
        with self._lock:
            self._commands.clear()

    def stop(self) -> None:
        with self._lock:
            running = list(self._processes.values())
        for process in running:
            process.kill()


def _unzip_names(context: object) -> tuple[str, ...]:
    """Check that `context` is empty or a base64 zip; return its file names."""
    if context in (None, ""):
        return ()
    if not isinstance(context, str):
        raise CommandError("properties.context must be a base64-encoded zip file")
    try:
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(context, validate=True))) as archive:
            return tuple(archive.namelist())
    except (binascii.Error, zipfile.BadZipFile, ValueError) as error:
        raise CommandError(f"properties.context is not a base64-encoded zip file: {error}") from None
