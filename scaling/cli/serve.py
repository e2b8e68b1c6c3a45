"""`python -m scaling serve`: the API and the timer on this machine (what `make run` runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scaling.cli.local import SAMPLE_CLUSTERS, SAMPLE_SCHEDULES


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (0-65535; 0 picks a free one)")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{value} must be between 0 and 3600 seconds")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the HTTP API and run the timer locally (starts Azurite and the emulator when not configured)",
        description=(
            "Serve the same API as the Functions app under uvicorn, with an in-process timer on SCALING_TIMER. "
            "Without storage settings it starts Azurite (in memory); without SCALING_ARM_ENDPOINT / "
            "SCALING_KUBECONFIG it starts the AKS emulator; an empty Projects table gets the sample schedules. "
            "It prints the URL, an API key (SCALING_API_KEY, else a new one) and curl examples. Ctrl-C stops."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=7071, help="port (default: %(default)s; 0: a free port)")
    parser.add_argument(
        "--schedules",
        type=Path,
        default=SAMPLE_SCHEDULES,
        help="schedules file loaded into an empty Projects table (default: schedules.sample.yaml)",
    )
    parser.add_argument(
        "--emulator-config",
        type=Path,
        default=SAMPLE_CLUSTERS,
        help="clusters of the emulator, when it is started (default: emulator/sample.yaml)",
    )
    parser.add_argument(
        "--emulator-delay",
        type=_seconds,
        default=None,
        help="seconds each emulated pool operation / rollout takes (default: the config's)",
    )
    parser.add_argument(
        "--tick-now", action="store_true", help="run one reconcile tick at start-up (the Functions timer does not)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import USAGE, CliError
    from scaling.cli.local import LocalError, ServeOptions, serve
    from scaling.schedule.ncrontab import NcrontabError
    from scaling.settings import SettingsError

    options = ServeOptions(
        host=args.host,
        port=args.port,
        schedules=args.schedules,
        clusters=args.emulator_config,
        tick_now=args.tick_now,
        emulator_delay=args.emulator_delay,
    )
    try:
        return serve(options, ctx.env, out=ctx.stdout)
    except (SettingsError, NcrontabError) as error:
        raise CliError(f"setting: {error}", USAGE) from None
    except LocalError as error:
        raise CliError(str(error)) from None
    except KeyboardInterrupt:
        return 0
