"""`python -m scaling reconcile --once [--now ISO] [--dry-run]`: run one timer tick from the command line."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from scaling.cli.audit import instant, tables
from scaling.plan.actions import Notice, PoolChange
from scaling.plan.pools import describe

UTC = UTC


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "reconcile",
        help="run one tick: observe, plan, scale, audit",
        description="One timer tick over every cluster with an enabled project (the timer does the same "
        "every few minutes under `serve` or Azure Functions).",
    )
    parser.add_argument("--once", action="store_true", required=True, help="run one tick and exit (required)")
    parser.add_argument("--now", type=instant, help="decide as if it were this instant (ISO 8601 with offset)")
    parser.add_argument("--dry-run", action="store_true", help="plan and audit as dry-run; write nothing to clusters")
    parser.add_argument("--json", action="store_true", help="the outcomes as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import OK, STORAGE, CliError
    from scaling.reconcile import Context, tick

    settings = ctx.settings()
    tables(ctx)  # storage errors reported the CLI's way, before any cluster is touched
    try:
        context = Context.from_settings(settings, table_names=ctx.table_names)
    except ValueError as exc:
        raise CliError(str(exc), STORAGE) from None
    now = (args.now or datetime.now(UTC)).astimezone(UTC)
    report = tick(now, context=context, dry_run=args.dry_run)
    lines = [_line(o) for o in report.outcomes]
    if args.json:
        ctx.json(
            {
                "tick": report.tick_id,
                "now": now.isoformat(),
                "duration_ms": report.duration_ms,
                "outcomes": lines,
                "project_errors": list(report.project_errors),
                "override_errors": list(report.override_errors),
                "audit_pending": report.audit_pending,
                "clusters": [
                    {
                        "cluster": str(c.cluster),
                        "error": c.error,
                        "audit_error": c.audit_error,
                        "audit_rows": c.rows,
                        "duration_ms": c.duration_ms,
                    }
                    for c in report.clusters
                ],
            }
        )
    else:
        ctx.out(
            f"tick {report.tick_id} at {now:%Y-%m-%d %H:%M:%S}Z: {report.actions} changes, "
            f"{report.failures} failed, {report.duration_ms} ms"
        )
        for line in lines:
            ctx.out(f"  {line['result']:<8} {line['project']:<16} {line['target']:<40} {line['change']}")
        for error in report.project_errors + report.override_errors:
            ctx.err(f"warning: {error}")
        for cluster in report.clusters:
            if cluster.audit_error:
                ctx.err(f"warning: audit rows of {cluster.cluster.name} not written: {cluster.audit_error}")
        if report.audit_pending:
            ctx.err(f"warning: {report.audit_pending} audit rows pending; the next tick writes them")
    return OK if report.failures == 0 else 1


def _line(outcome) -> dict[str, str]:
    action = outcome.action
    if isinstance(action, Notice):
        change = action.message
    elif isinstance(action, PoolChange):
        change = f"{describe(action.before)} -> {describe(action.after)}"
    else:
        change = f"{action.before} -> {action.after}"
    if outcome.error:
        change += f" ({outcome.error})"
    return {"result": outcome.result.value, "project": action.why.project, "target": action.target, "change": change}
