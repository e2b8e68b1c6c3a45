"""The settings a running `make run` / `serve` started with, in a file the other commands read by themselves.

`serve` writes `.run/local.settings.json` (the Functions `local.settings.json` format: `Values` holds the app
settings) while it runs and removes it when it stops. A command run without Table Storage settings of its
own reads it, so `python -m scaling override list` in a second terminal reaches the demo with no setup.
The file names the process that wrote it; a file left by a process that is gone is ignored.
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PATH = ROOT / ".run" / "local.settings.json"
PATH_SETTING = "SCALING_LOCAL_SETTINGS"  # where the file is (tests and second checkouts)
# What a command needs to reach what `serve` started; the order of the export line.
EXPORTED = (
    "SCALING_STORAGE_CONNECTION",
    "SCALING_ARM_ENDPOINT",
    "SCALING_ARM_CA_BUNDLE",
    "SCALING_KUBECONFIG",
    "SCALING_LOCAL_CREDENTIAL",
    "SCALING_API_KEY",
    "SCALING_URL",
)
STORAGE_SETTINGS = ("SCALING_STORAGE_CONNECTION", "AzureWebJobsStorage", "SCALING_STORAGE_ACCOUNT_URL")


@dataclass(frozen=True)
class LocalState:
    """What a running `serve` wrote: its process id and the settings that reach what it started."""

    path: Path
    pid: int
    values: dict[str, str]


def path_of(env: Mapping[str, str]) -> Path:
    return Path(env.get(PATH_SETTING) or DEFAULT_PATH)


def write(path: Path, values: Mapping[str, str], *, pid: int | None = None) -> None:
    """Write the file readable by this user only (it holds the API key), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "IsEncrypted": False,
        "Values": {k: values[k] for k in EXPORTED if values.get(k)},
        "Serve": {"pid": os.getpid() if pid is None else pid},
    }
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    partial.replace(path)


def remove(path: Path, *, pid: int | None = None) -> None:
    """Remove the file if this process (or `pid`) wrote it; another serve's file stays."""
    state = read(path, check_alive=False)
    if state is not None and state.pid == (os.getpid() if pid is None else pid):
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, though its file is not ours to use
        return True
    return True


def read(path: Path, *, check_alive: bool = True) -> LocalState | None:
    """The file's state, or None when there is none, it is unreadable, or its writer has stopped."""
    try:
        document = json.loads(path.read_text())
        pid = int(document["Serve"]["pid"])
        values = {str(k): str(v) for k, v in dict(document["Values"]).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if check_alive and not _alive(pid):
        return None
    return LocalState(path=path, pid=pid, values=values)


def configured(env: Mapping[str, str]) -> bool:
    """The environment names Table Storage itself: the file is not needed."""
    return any(env.get(name) for name in STORAGE_SETTINGS)


def with_local_state(env: Mapping[str, str]) -> tuple[Mapping[str, str], LocalState | None]:
    """`env` plus a running serve's settings when `env` has no storage of its own (env wins where set)."""
    if configured(env):
        return env, None
    state = read(path_of(env))
    if state is None:
        return env, None
    merged = dict(state.values)
    merged.update({k: v for k, v in env.items() if v})
    return merged, state


def export_line(values: Mapping[str, str]) -> str:
    """One shell line that gives another terminal the same settings."""
    return "export " + " ".join(f"{k}={shlex.quote(values[k])}" for k in EXPORTED if values.get(k))
