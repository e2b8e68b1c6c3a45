"""`python -m scaling report --month 2026-11`: node-hours and cost avoided per project and node pool.

Reads the audit trail from Table Storage (from `savings.LOOKBACK` before the month), the projects (for
their schedules, used only to estimate missing rows) and each project cluster's node pools (for their VM
sizes; one list call per cluster). Output as a table (default), CSV or JSON on stdout; progress on stderr.

Exit codes: 0 report written; 1 invalid input (month, zone, price table, --vm-size); 2 usage or a
malformed setting; 3 Table Storage not configured or unreachable. A cluster that cannot be listed does
not fail the report: its pools are reported without a VM size (so without cost) and a note says why.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from scaling.cli import INVALID, OK, CliError, Context
from scaling.page.savings import (
    PriceTable,
    SavingsError,
    SavingsReport,
    compute_savings,
    month_range,
    read_audit,
    to_csv,
    vm_sizes_of,
)

PRICES_SETTING = "SCALING_PRICES"  # path of an edited price table; default: scaling/page/prices.json


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="node-hours and cost avoided in a month, per project and node pool",
        description="Node-hours avoided (time scaled down x the nodes the pool ran) and the estimated cost "
        "avoided, per project and node pool, from the audit trail. Prices: --prices, else $SCALING_PRICES, "
        "else scaling/page/prices.json (list prices; edit them). Exit codes: 0 ok, 1 invalid input, 2 usage, "
        "3 storage.",
    )
    parser.add_argument("--month", required=True, help="calendar month YYYY-MM, e.g. 2026-11")
    parser.add_argument("--zone", default="UTC", help="time zone the month is counted in (default UTC)")
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table", help="output format")
    parser.add_argument("--json", action="store_const", const="json", dest="format", help="same as --format json")
    parser.add_argument("--prices", help="price table JSON file (VM size -> hourly price)")
    parser.add_argument(
        "--vm-size",
        action="append",
        default=[],
        metavar="POOL=SIZE",
        help="VM size of a pool whose cluster cannot be listed (repeatable)",
    )
    parser.add_argument("--no-arm", action="store_true", help="do not list node pools; use --vm-size only")
    parser.add_argument("--now", help="ISO instant to cut the month at (default: now)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, ctx: Context) -> int:
    now = _now(args.now)
    prices = _prices(args.prices or ctx.env.get(PRICES_SETTING))
    manual = _manual_sizes(args.vm_size)
    progress = (lambda text: None) if args.quiet else (lambda text: ctx.err(text))
    try:
        month_range(args.month, args.zone)  # bad input is reported before anything is read
    except SavingsError as error:
        raise CliError(str(error), INVALID) from None

    store = ctx.store()
    loaded = store.load()
    from scaling.storage.audit import AuditStore
    from scaling.storage.tables import table_service

    audit = AuditStore(table_service(ctx.settings()), ctx.table_names.audit)
    rows = read_audit(
        lambda **kw: audit.query(now=now, **kw),
        month=args.month,
        zone=args.zone,
        progress=lambda n: progress(f"audit rows read: {n}"),
    )
    sizes: dict[Any, str] = dict(manual)
    notes: list[str] = []
    if not args.no_arm:
        sizes.update(_observed_sizes(ctx, sorted({p.cluster for p in loaded.projects}), progress, notes))
    schedules = {p.name: (p.schedule, p.warmup_minutes) for p in loaded.projects}
    try:
        report = compute_savings(
            rows, month=args.month, zone=args.zone, now=now, prices=prices, vm_sizes=sizes, schedules=schedules
        )
    except SavingsError as error:
        raise CliError(str(error), INVALID) from None
    report = _with_notes(report, notes)
    if args.format == "json":
        ctx.json(report.as_dict())
    elif args.format == "csv":
        ctx.stdout.write(to_csv(report))
    else:
        ctx.out(to_table(report))
    return OK


def to_table(report: SavingsReport) -> str:
    """A plain-text table for people: pools grouped by project, totals, then the notes."""
    header = ("project", "pool", "vm size", "hours down", "node-hours", f"cost {report.currency}")
    lines: list[tuple[str, ...]] = [header]
    for project in report.projects:
        for pool in (p for p in report.pools if p.project == project.project):
            flags = ("*" if pool.estimated else "") + (" (still down)" if pool.still_down else "")
            lines.append(
                (
                    pool.project,
                    pool.pool + flags,
                    pool.vm_size or "?",
                    f"{pool.hours_down:.1f}",
                    f"{pool.node_hours:.1f}",
                    "-" if pool.cost is None else f"{pool.cost:.2f}",
                )
            )
        lines.append(("", "total", "", "", f"{project.node_hours:.1f}", f"{project.cost:.2f}"))
    lines.append(("ALL", "", "", "", f"{report.total_node_hours:.1f}", f"{report.total_cost:.2f}"))
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = [
        f"Savings {report.month} ({report.zone}), {_z(report.start)} to {_z(report.end)}; "
        f"prices as of {report.prices_as_of}"
    ]
    for row in lines:
        cells = [cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))]
        text.append("  ".join(cells).rstrip())
    if not report.pools:
        text.append("(no node pool was scaled down in this month)")
    if any(p.estimated for p in report.pools):
        text.append("* includes time estimated from the schedule where audit rows are missing")
    text += [f"note: {note}" for note in report.notes]
    return "\n".join(text)


# -- helpers ------------------------------------------------------------------------------------------


def _now(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise CliError(f"--now {text!r} is not an ISO 8601 instant such as 2026-11-30T18:00:00Z", INVALID) from None
    if value.tzinfo is None:
        raise CliError(f"--now {text!r} has no time zone; add Z or an offset such as +01:00", INVALID)
    return value


def _prices(path: str | None) -> PriceTable:
    try:
        return PriceTable.load(path)
    except SavingsError as error:
        raise CliError(str(error), INVALID) from None


def _manual_sizes(items: Sequence[str]) -> dict[str, str]:
    sizes = {}
    for item in items:
        pool, _, size = item.partition("=")
        if not pool.strip() or not size.strip():
            raise CliError(f"--vm-size {item!r}: expected POOL=SIZE such as gpu=Standard_NC4as_T4_v3", INVALID)
        sizes[pool.strip()] = size.strip()
    return sizes


def _observed_sizes(ctx: Context, clusters: Sequence[Any], progress: Any, notes: list[str]) -> dict[Any, str]:
    """VM sizes of every pool of `clusters` (one ARM list each); an unreachable cluster only adds a note."""
    if not clusters:
        return {}
    from scaling.clusters.clients import Clients
    from scaling.clusters.nodepools import NodePoolBackend
    from scaling.plan.observed import ObservedCluster

    try:
        backend = NodePoolBackend(Clients(ctx.settings()))
    except Exception as error:  # no credential available: report without sizes rather than fail
        notes.append(f"node pools not listed ({error}); pass --vm-size POOL=SIZE")
        return {}
    seen = []
    for cluster in clusters:
        progress(f"listing node pools of {cluster.name}")
        try:
            seen.append(ObservedCluster(cluster=cluster, pools=backend.observe(cluster)))
        except Exception as error:
            notes.append(f"cluster {cluster.name}: node pools not listed ({error}); pass --vm-size POOL=SIZE")
    return vm_sizes_of(seen)


def _with_notes(report: SavingsReport, notes: list[str]) -> SavingsReport:
    return replace(report, notes=tuple(notes) + report.notes) if notes else report


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
