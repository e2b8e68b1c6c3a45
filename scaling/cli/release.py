"""`python -m scaling release [PROJECT] [--orphans] [--cluster ID] [--dry-run]`: give back what the app holds.

Restores exactly, now, what a project holds (named on the object, or in its row's columns) and/or every
orphan (a hold in a namespace or on a pool that no row names), in morning order; audited with trigger
`manual` and the reason `released: asked ... by <actor>`. A project still enabled and scheduled down is
taken down again by the next tick: disable it first (`Enabled: false`) to keep it up.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from scaling.cli.audit import instant, tables
from scaling.cli.overrides import _actor
from scaling.cli.reconcile import _line
from scaling.names import InvalidName, cluster_id, dns1123_label


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "release",
        help="give back now what the app holds of a project, or of no row at all (--orphans)",
        description="Restore exactly, now, what a project holds, and/or every orphan (the app's annotations "
        "or tags in a namespace or on a pool that no row names), in morning order, audited.",
    )
    parser.add_argument("project", nargs="?", help="the project (its row may be disabled, invalid or deleted)")
    parser.add_argument("--orphans", action="store_true", help="also release every orphan")
    parser.add_argument(
        "--cluster",
        action="append",
        default=[],
        type=_cluster,
        metavar="ID",
        help="also look at this AKS resource id (a cluster whose every row was deleted); repeatable",
    )
    parser.add_argument("--actor", help="who (default: $USER@host)")
    parser.add_argument("--dry-run", action="store_true", help="show and audit what would be released; write nothing")
    parser.add_argument("--now", type=instant, help="as if it were this instant (ISO 8601 with offset)")
    parser.add_argument("--json", action="store_true", help="the outcomes as JSON")
    parser.set_defaults(handler=run)


def _cluster(text: str):
    try:
        return cluster_id(text)
    except InvalidName as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import OK, STORAGE, USAGE, CliError
    from scaling.reconcile import Context, release

    if args.project is None and not args.orphans:
        raise CliError("name a project, or pass --orphans (or both)", USAGE)
    if args.project is not None:
        try:
            dns1123_label(args.project, what="project")
        except InvalidName as exc:
            raise CliError(str(exc), USAGE) from None
    settings = ctx.settings()
    tables(ctx)
    try:
        context = Context.from_settings(settings, table_names=ctx.table_names)
    except ValueError as exc:
        raise CliError(str(exc), STORAGE) from None
    now = (args.now or datetime.now(UTC)).astimezone(UTC)
    report = release(
        now,
        context=context,
        project=args.project,
        orphans=args.orphans,
        clusters=args.cluster,
        actor=_actor(args),
        dry_run=args.dry_run,
    )
    lines = [_line(o) for o in report.outcomes]
    if args.json:
        ctx.json({"tick": report.tick_id, "now": now.isoformat(), "dry_run": args.dry_run, "outcomes": lines})
    else:
        verb = "would release" if args.dry_run else "released"
        ctx.out(f"{verb} {report.actions} changes, {report.failures} failed")
        for line in lines:
            ctx.out(f"  {line['result']:<8} {line['project']:<16} {line['target']:<40} {line['change']}")
    return OK if report.failures == 0 else 1
