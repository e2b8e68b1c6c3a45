"""`python -m scaling audit`: print audit rows, newest first (a table for people, `--json` for tools)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from datetime import UTC, datetime

from scaling import when
from scaling.storage.audit import AuditError, AuditRow, AuditStore
from scaling.storage.tables import StorageNotConfigured, ensure_tables, table_service


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="print audit rows, newest first",
        description="Audit rows newest first: every decision and action (scaled, reported, failed, dry-run).",
    )
    parser.add_argument("--project", help="only this project's rows")
    parser.add_argument(
        "--since",
        type=ago,
        help="from this long ago (2h, 30m, 7d) or this instant (ISO 8601 with offset, e.g. 2026-11-30T00:00Z)",
    )
    parser.add_argument("--until", type=ago, help="before this long ago (1h) or this instant (ISO 8601 with offset)")
    parser.add_argument("--limit", type=int, default=100, help="at most this many rows (default 100)")
    parser.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    parser.set_defaults(handler=run)


def instant(text: str) -> datetime:
    """An argparse type: ISO 8601 with an offset or Z (naive times are ambiguous across zones)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (e.g. 2026-11-30T09:00+09:00)") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no offset; add Z or +HH:MM")
    return value


def ago(text: str) -> datetime:
    """An argparse type: a duration before now (`2h`) or an ISO 8601 instant with an offset."""
    try:
        return when.parse_since(text, now=datetime.now(UTC))
    except when.WhenError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def tables(ctx):
    """The Table service of the configured storage, every table created when missing (CLI errors on failure)."""
    from scaling.cli import STORAGE, CliError

    try:
        service = table_service(ctx.settings())
    except StorageNotConfigured as exc:
        raise CliError(str(exc), STORAGE) from None
    except ValueError as exc:  # a malformed connection string; the SDK's message holds no key
        raise CliError(f"Table Storage connection string is malformed: {exc}", STORAGE) from None
    ctx.storage_url = service.url
    ensure_tables(service, ctx.table_names)
    return service


def run(args: argparse.Namespace, ctx) -> int:
    from scaling.cli import INVALID, OK, USAGE, CliError

    if args.limit < 1 or args.limit > 10_000:
        raise CliError(f"--limit {args.limit} must be between 1 and 10000", USAGE)
    store = AuditStore(tables(ctx), ctx.table_names.audit)
    rows: list[AuditRow] = []
    token = None
    try:
        while len(rows) < args.limit:
            page, token = store.query(
                project=args.project,
                since=args.since,
                until=args.until,
                limit=min(1000, args.limit - len(rows)),
                continuation=token,
            )
            rows += page
            if token is None:
                break
    except (AuditError, ValueError) as exc:
        raise CliError(str(exc), INVALID) from None
    if args.json:
        ctx.json([_jsonable(r) for r in rows])
    else:
        for line in format_rows(rows):
            ctx.out(line)
    return OK


def _jsonable(row: AuditRow) -> dict[str, object]:
    data = asdict(row)
    data["from"] = data.pop("from_")
    data["time"] = row.time.isoformat().replace("+00:00", "Z")
    data["result"] = row.result.value
    return data


def format_rows(rows: list[AuditRow]) -> list[str]:
    if not rows:
        return ["no audit rows"]
    lines = []
    for r in rows:
        cluster = r.cluster.rsplit("/", 1)[-1] if r.cluster else "-"
        change = f"{r.from_ or ''}->{r.to or ''}" if (r.from_ or r.to) else ""
        detail = r.error or r.reason or ""
        lines.append(
            f"{r.time:%Y-%m-%d %H:%M:%S}Z  {r.project:<16} {cluster:<14} {r.target:<36} {r.action:<14} "
            f"{change:<22} {r.result.value:<8} {r.trigger}/{r.actor}  {detail}".rstrip()
        )
    return lines
