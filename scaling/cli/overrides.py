"""`python -m scaling override set|clear|list`: manual overrides for operators (audited as `manual`)."""

from __future__ import annotations

import argparse
import getpass
import socket
from dataclasses import replace
from datetime import UTC, datetime

from scaling.cli.audit import instant, tables
from scaling.override import OverrideError, new_override, parse_target
from scaling.storage.audit import AuditStore, override_row
from scaling.storage.overrides import OverrideStore

UTC = UTC


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "override",
        help="hold a project (or one workload) up or down for a while",
        description="Overrides win over the schedule until they expire (default: the next schedule change).",
    )
    commands = parser.add_subparsers(dest="override_command", metavar="SUBCOMMAND", required=True)

    set_ = commands.add_parser("set", help="set an override (replaces the one of the same scope)")
    set_.add_argument("project")
    set_.add_argument("action", choices=["up", "down", "replicas"])
    set_.add_argument("--target", help="one workload: deployment/<namespace>/<name> or statefulset/<ns>/<name>")
    set_.add_argument("--replicas", type=int, help="with action replicas: the count")
    set_.add_argument("--until", type=instant, help="ISO 8601 with offset (default: the next schedule change)")
    set_.add_argument("--reason", required=True, help="why (recorded in the audit, at most 500 characters)")
    set_.add_argument("--actor", help="who (default: $USER@host)")
    set_.add_argument("--now", type=instant, help=argparse.SUPPRESS)  # tests and replays
    set_.set_defaults(handler=run_set)

    clear = commands.add_parser("clear", help="end an override now")
    clear.add_argument("project")
    clear.add_argument("--target", help="the workload whose override to end (default: the project-wide one)")
    clear.add_argument("--reason", default="cleared by an operator", help="why (recorded in the audit)")
    clear.add_argument("--actor", help="who (default: $USER@host)")
    clear.add_argument("--now", type=instant, help=argparse.SUPPRESS)
    clear.set_defaults(handler=run_clear)

    list_ = commands.add_parser("list", help="active overrides")
    list_.add_argument("--project")
    list_.add_argument("--json", action="store_true")
    list_.add_argument("--now", type=instant, help=argparse.SUPPRESS)
    list_.set_defaults(handler=run_list)


def _actor(args: argparse.Namespace) -> str:
    return args.actor or f"{getpass.getuser()}@{socket.gethostname()}"


def _now(args: argparse.Namespace) -> datetime:
    return (args.now or datetime.now(UTC)).astimezone(UTC)


def run_set(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import INVALID, OK, CliError

    service = tables(ctx)
    settings = ctx.settings()
    from scaling.storage.projects import ProjectStore

    loaded = ProjectStore(service, ctx.table_names).load()
    project = loaded.get(args.project)
    if project is None:
        bad = [str(e) for e in loaded.errors if e.project == args.project]
        raise CliError(
            f"project {args.project!r} " + ("does not load: " + "; ".join(bad) if bad else "does not exist"), INVALID
        )
    now = _now(args)
    try:
        override = new_override(
            project,
            args.action,
            reason=args.reason,
            actor=_actor(args),
            now=now,
            max_hours=settings.max_override_hours,
            until=args.until,
            target=args.target,
            replicas=args.replicas,
            max_replicas=settings.max_replicas,
        )
    except (OverrideError, ValueError) as exc:
        raise CliError(str(exc), INVALID) from None
    OverrideStore(service, ctx.table_names.overrides).save(override)
    AuditStore(service, ctx.table_names.audit).write([override_row(override, cleared=False, now=now)])
    ctx.out(f"override set: {override.describe()} (reason: {override.reason})")
    return OK


def run_clear(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import INVALID, OK, CliError

    try:
        target = parse_target(args.target) if args.target else None
    except OverrideError as exc:
        raise CliError(str(exc), INVALID) from None
    service = tables(ctx)
    removed = OverrideStore(service, ctx.table_names.overrides).clear(args.project, target)
    scope = str(target) if target else f"project {args.project}"
    if removed is None:
        raise CliError(f"no override for {scope}", INVALID)
    now = _now(args)
    record = replace(removed, actor=_actor(args), reason=args.reason)
    AuditStore(service, ctx.table_names.audit).write([override_row(record, cleared=True, now=now)])
    ctx.out(f"override cleared: {scope}; the schedule applies again")
    return OK


def run_list(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import OK

    loaded = OverrideStore(tables(ctx), ctx.table_names.overrides).load(_now(args), cleanup=False)
    active = sorted(
        (o for o in loaded.active if args.project in (None, o.project)),
        key=lambda o: (o.project, str(o.target or "")),
    )
    if args.json:
        ctx.json(
            [
                {
                    "project": o.project,
                    "target": str(o.target) if o.target else None,
                    "action": o.action.value,
                    "replicas": o.replicas,
                    "until": o.until.isoformat(),
                    "reason": o.reason,
                    "actor": o.actor,
                    "created": o.created.isoformat(),
                }
                for o in active
            ]
        )
    else:
        for o in active:
            ctx.out(f"{o.describe()}  by {o.actor}: {o.reason}")
        if not active:
            ctx.out("no active overrides")
    for error in loaded.errors:
        ctx.err(f"warning: {error}")
    return OK
