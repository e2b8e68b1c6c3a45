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
    set_.add_argument(
        "--until",
        help="when it ends, in the project's time zone unless an offset is given: 22:00, 'tomorrow 09:00', "
        "'Fri 18:00', '2026-12-24 12:00', 2026-12-24T12:00Z (default: the next schedule change)",
    )
    set_.add_argument("--for", dest="duration", metavar="DURATION", help="how long from now: 2h, 90m, 1h30m, 3d")
    set_.add_argument("--reason", required=True, help="why (recorded in the audit, at most 500 characters)")
    set_.add_argument("--actor", help="who (default: $USER@host)")
    set_.add_argument("--now", type=instant, help=argparse.SUPPRESS)  # tests and replays
    _apply_flag(set_)
    set_.set_defaults(handler=run_set)

    clear = commands.add_parser("clear", help="end an override now")
    clear.add_argument("project")
    clear.add_argument("--target", help="the workload whose override to end (default: the project-wide one)")
    clear.add_argument("--reason", default="cleared by an operator", help="why (recorded in the audit)")
    clear.add_argument("--actor", help="who (default: $USER@host)")
    clear.add_argument("--now", type=instant, help=argparse.SUPPRESS)
    _apply_flag(clear)
    clear.set_defaults(handler=run_clear)

    list_ = commands.add_parser("list", help="active overrides")
    list_.add_argument("--project")
    list_.add_argument("--json", action="store_true")
    list_.add_argument("--now", type=instant, help=argparse.SUPPRESS)
    list_.set_defaults(handler=run_list)


def _apply_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-apply",
        dest="apply",
        action="store_false",
        help="only record it; the app's next timer tick applies it (default: applied at once, as the API does, "
        "when this shell reaches the clusters)",
    )


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
            duration=args.duration,
            target=args.target,
            replicas=args.replicas,
            max_replicas=settings.max_replicas,
        )
    except (OverrideError, ValueError) as exc:
        raise CliError(str(exc), INVALID) from None
    zone = project.schedule.zone
    local = override.until.astimezone(zone)
    said = f"override set: {override.describe()} ({local:%a %d %b %H:%M} {zone.key}) (reason: {override.reason})"
    if not (args.apply and reaches_clusters(ctx.env) and project.enabled):
        OverrideStore(service, ctx.table_names.overrides).save(override)
        AuditStore(service, ctx.table_names.audit).write([override_row(override, cleared=False, now=now)])
        ctx.out(said)
        args.disabled = not project.enabled
        ctx.out(_later(args, settings, now))
        return OK
    return _applied(ctx, said, lambda api: api.apply_override(project, override, now, _caller(args)), settings, now)


def reaches_clusters(env) -> bool:
    """This shell names the clusters' endpoints (as `make run`'s settings do), so it can apply changes."""
    return bool(env.get("SCALING_ARM_ENDPOINT") or env.get("SCALING_KUBECONFIG"))


def _caller(args: argparse.Namespace):
    from scaling.api.auth import Caller

    return Caller(actor=_actor(args), via="cli")


def _later(args: argparse.Namespace, settings, now: datetime) -> str:
    from scaling.schedule.ncrontab import NcrontabError
    from scaling.schedule.ncrontab import parse as parse_ncrontab

    why = "--no-apply" if not args.apply else "this shell names no cluster endpoint (SCALING_ARM_ENDPOINT)"
    if getattr(args, "disabled", False):
        why = "the project is disabled (Enabled: false)"
    try:
        due = parse_ncrontab(settings.timer_schedule).next_after(now.astimezone(UTC))
        when_ = f"at the app's next timer tick (SCALING_TIMER '{settings.timer_schedule}': {due:%H:%M}Z)"
    except (NcrontabError, ValueError):
        when_ = "at the app's next timer tick"
    return f"not applied yet ({why}): the clusters change {when_}"


def _applied(ctx, said: str, act, settings, now: datetime) -> int:
    """Run `act` on an ApiService over the engine (the API's own code path) and print what changed."""
    from scaling.api.backend import ContextBackend, build_context
    from scaling.api.errors import ApiError
    from scaling.api.service import ApiService
    from scaling.cli import OK

    context = build_context(settings, table_names=ctx.table_names)
    api = ApiService(ContextBackend(context), dry_run=settings.dry_run)
    try:
        result = act(api)
    except ApiError as error:
        if error.status < 500 and error.status != 409:
            from scaling.cli import INVALID, CliError

            raise CliError(f"{error.message}: {error.detail}", INVALID) from None
        ctx.out(said)
        ctx.err(f"warning: {error.message}: {error.detail}")
        ctx.out("the next timer tick retries what could not be done now")
        return OK
    applied = result[1] if isinstance(result, tuple) else result
    ctx.out(said)
    lines = applied.lines()
    if applied.dry_run:
        ctx.out("dry run: recorded, nothing changed")
    ctx.out("applied now:" if lines else "applied now: nothing to change")
    for line in lines:
        ctx.out(f"  {line}")
    return OK


def run_clear(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import INVALID, OK, CliError

    try:
        target = parse_target(args.target) if args.target else None
    except OverrideError as exc:
        raise CliError(str(exc), INVALID) from None
    service = tables(ctx)
    scope = str(target) if target else f"project {args.project}"
    now = _now(args)
    settings = ctx.settings()
    if args.apply and reaches_clusters(ctx.env):
        from scaling.storage.projects import ProjectStore

        project = ProjectStore(service, ctx.table_names).load().get(args.project)
        if project is not None and project.enabled:
            said = f"override cleared: {scope}; the schedule applies again from now"
            return _applied(
                ctx, said, lambda api: api.clear_override(project, target, now, _caller(args)), settings, now
            )
    removed = OverrideStore(service, ctx.table_names.overrides).clear(args.project, target)
    if removed is None:
        raise CliError(f"no override for {scope}", INVALID)
    record = replace(removed, actor=_actor(args), reason=args.reason)
    AuditStore(service, ctx.table_names.audit).write([override_row(record, cleared=True, now=now)])
    ctx.out(f"override cleared: {scope}")
    ctx.out(_later(args, settings, now))
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
