"""`python -m scaling`: the command line. This module holds the frame; each command lives in its own module.

Adding a command: write `scaling/cli_<name>.py` with `register(subparsers)` that adds a parser and sets
`handler=<function(args, ctx) -> int>` with `set_defaults`, then add the module to `COMMAND_MODULES`.
Keep imports of heavy packages (uvicorn, kubernetes) inside the handler: every module is imported to
build the parser, on every run.

Exit codes (docs/schedules.md lists them for operators): 0 OK, 1 INVALID, 2 USAGE, 3 STORAGE, 4 CONFLICT.
An Azure SDK error that escapes a handler is reported with exit code 3 and the storage endpoint, never
with a traceback or a secret.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

from azure.core.exceptions import AzureError, ClientAuthenticationError, HttpResponseError, ServiceRequestError

from scaling.cli import local_state
from scaling.settings import Settings, SettingsError
from scaling.storage.tables import StorageNotConfigured, TableNames, ensure_tables, table_service

if TYPE_CHECKING:
    from scaling.storage.projects import ProjectStore

OK = 0  # done; for validate: every project is valid
INVALID = 1  # the input (a file, a row, a project name) is invalid; every problem is listed
USAGE = 2  # the command line is wrong (argparse's own code), or a setting is malformed
STORAGE = 3  # Table Storage is not configured, not reachable, or refused the request
CONFLICT = 4  # a row changed in the table while it was being written; nothing of it was overwritten

COMMAND_MODULES = (
    "scaling.cli.schedules",
    "scaling.cli.plan",
    "scaling.cli.overrides",
    "scaling.cli.audit",
    "scaling.cli.report",
    "scaling.cli.reconcile",
    "scaling.cli.release",
    "scaling.cli.serve",
)


class CliError(Exception):
    """Stops a command: `message` goes to stderr, `code` is the exit code."""

    def __init__(self, message: str, code: int = INVALID):
        super().__init__(message)
        self.code = code


@dataclass
class Context:
    """What a command handler gets besides its arguments: output streams, environment, table names."""

    stdout: TextIO
    stderr: TextIO
    env: Mapping[str, str]
    table_names: TableNames = field(default_factory=TableNames)
    storage_url: str | None = None  # set once a command touches storage, for error messages

    def settings(self) -> Settings:
        try:
            return Settings.from_env(self.env)
        except SettingsError as exc:
            raise CliError(str(exc), USAGE) from None

    def store(self) -> ProjectStore:
        """A ProjectStore on the configured storage, its tables created when missing."""
        from scaling.storage.projects import ProjectStore

        try:
            service = table_service(self.settings())
        except StorageNotConfigured as exc:
            raise CliError(
                f"{exc}; or start `make run` in this checkout (commands read its settings)", STORAGE
            ) from None
        except ValueError as exc:  # a malformed connection string; the SDK's message holds no key
            raise CliError(f"Table Storage connection string is malformed: {exc}", STORAGE) from None
        self.storage_url = service.url
        ensure_tables(service, self.table_names)
        return ProjectStore(service, self.table_names)

    def out(self, text: str = "") -> None:
        print(text, file=self.stdout)

    def err(self, text: str) -> None:
        print(text, file=self.stderr)

    def json(self, data: object) -> None:
        json.dump(data, self.stdout, indent=2, ensure_ascii=False, default=str)
        self.stdout.write("\n")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scaling",
        description="aks-hours: scheduled scale-to-zero of AKS workloads and node pools.",
        epilog="Exit codes: 0 ok, 1 invalid input, 2 usage error, 3 storage not configured or unreachable, "
        "4 conflict (a row changed meanwhile). Storage: SCALING_STORAGE_CONNECTION or AzureWebJobsStorage "
        "(connection string), or SCALING_STORAGE_ACCOUNT_URL (managed identity).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(
    argv: list[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    table_names: TableNames | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run one command and return its exit code (argparse's usage errors and --help included)."""
    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help (0) and usage errors (2): return the code instead of exiting
        return exit_.code if isinstance(exit_.code, int) else USAGE
    if env is None or local_state.PATH_SETTING in env:
        # A running `make run` in this checkout: its settings, unless the environment names storage itself.
        env, _ = local_state.with_local_state(os.environ if env is None else env)
    ctx = Context(
        stdout=stdout,
        stderr=stderr,
        env=env,
        table_names=table_names or TableNames(),
    )
    try:
        return args.handler(args, ctx)
    except CliError as exc:
        ctx.err(f"error: {exc}")
        return exc.code
    except AzureError as exc:
        ctx.err(f"error: {_azure_error(exc, ctx.storage_url)}")
        return STORAGE


def _azure_error(exc: AzureError, url: str | None) -> str:
    where = f"Table Storage at {url}" if url else "Azure"
    if isinstance(exc, ServiceRequestError):
        return f"{where} is not reachable ({_first_line(exc)})"
    if isinstance(exc, ClientAuthenticationError):
        return f"{where} refused the credentials ({_first_line(exc)})"
    if isinstance(exc, HttpResponseError):
        return f"{where} answered {exc.status_code} ({_first_line(exc)})"
    return f"{where} failed ({_first_line(exc)})"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
