"""`python -m scaling plan`: each project's coming transitions (local and UTC) and a week chart at a glance."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from scaling.cli import INVALID, OK, CliError, Context
from scaling.cli.schedules import describe, errors_json, load_file, print_errors
from scaling.model import NodePoolAction, Project
from scaling.schedule.timeline import ASCII, UNICODE, week_chart
from scaling.storage.rows import LoadedProjects

UTC = UTC
MAX_DAYS = 31


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show each project's coming transitions and a week chart",
        description="The coming up/down transitions of every project, in its local time and UTC, and a chart "
        "with one line per project (one cell per hour). Reads the Projects table, or a file with --file.",
    )
    parser.add_argument("--project", action="append", metavar="NAME", help="only this project (repeatable)")
    parser.add_argument("--days", type=_days, default=7, help=f"how many days to show (1-{MAX_DAYS}, default 7)")
    parser.add_argument(
        "--from",
        dest="start",
        type=_instant,
        metavar="ISO",
        help="start instant with an offset, e.g. 2026-11-30T00:00+09:00 or 2026-11-30T00:00Z (default now)",
    )
    parser.add_argument("--file", metavar="FILE", help="plan a schedules file instead of the table (no storage)")
    parser.add_argument("--json", action="store_true", help="print the transitions as JSON (no chart)")
    parser.add_argument("--ascii", action="store_true", help="draw the chart with ASCII characters only")
    parser.add_argument(
        "--width",
        type=int,
        help="fit the chart into this many columns (default: the terminal's, $COLUMNS; unlimited into a pipe)",
    )
    parser.add_argument(
        "--orphans",
        action="store_true",
        help="also look at the clusters: the orphans (holds no row names) and what the next tick releases",
    )
    parser.set_defaults(handler=_plan)


@dataclass(frozen=True)
class Change:
    """One line of a project's plan: the instant and what happens (`up`, `down`, `pools up`)."""

    at: datetime  # UTC
    what: str


@dataclass(frozen=True)
class ProjectWeek:
    """A project's state at the start and its changes in (start, end], node pool warm-ups included."""

    project: Project
    up_at_start: bool
    changes: tuple[Change, ...]


def project_week(project: Project, *, start: datetime, end: datetime) -> ProjectWeek:
    """Pure: the schedule's transitions in (start, end], plus `pools up` WarmupMinutes before each up
    transition when the project has node pools that the app scales (an up just after `end` may warm up
    inside the window, so the search runs that much further)."""
    schedule = project.schedule
    warmup = timedelta(minutes=project.warmup_minutes)
    warms = bool(project.node_pools) and project.node_pool_action is not NodePoolAction.NONE and warmup > timedelta(0)
    changes = []
    for at, up in schedule.transitions(start, end + warmup if warms else end):
        if at <= end:
            changes.append(Change(at, "up" if up else "down"))
        if up and warms and start < at - warmup <= end:
            changes.append(Change(at - warmup, "pools up"))
    changes.sort(key=lambda c: (c.at, c.what != "pools up"))
    return ProjectWeek(project=project, up_at_start=schedule.is_up(start), changes=tuple(changes))


def _plan(args: argparse.Namespace, ctx: Context) -> int:
    loaded = load_file(args.file).loaded if args.file else ctx.store().load()
    projects, errors = _select(loaded, args.project)
    start = args.start or datetime.now(UTC).replace(second=0, microsecond=0)
    end = start + timedelta(days=args.days)
    weeks = [project_week(p, start=start, end=end) for p in projects]
    if args.json:
        ctx.json(
            {
                "from": start.isoformat(),
                "to": end.isoformat(),
                "projects": [_week_json(w) for w in weeks],
                "errors": errors_json(errors),
            }
        )
        return INVALID if errors else OK
    ctx.out(f"Plan from {_utc(start)} to {_utc(end)} ({_count(args.days, 'day')}), {_count(len(weeks), 'project')}")
    for week in weeks:
        ctx.out()
        ctx.out(describe(week.project))
        zone = week.project.schedule.zone
        ctx.out(f"  {'at start':<9} {'up' if week.up_at_start else 'down'}")
        for change in week.changes:
            ctx.out(f"  {change.what:<9} {_local(change.at.astimezone(zone))}   {_utc(change.at)}")
        if not week.changes:
            ctx.out(f"  no change in these {args.days} days")
    if weeks:
        style = (
            ASCII if args.ascii or not _can_encode(ctx, UNICODE.up + UNICODE.mixed + UNICODE.day_separator) else UNICODE
        )
        rows = [(w.project.name, w.project.schedule, w.project.schedule.zone) for w in weeks]
        ctx.out()
        ctx.out(fitted_chart(rows, start=start, days=args.days, style=style, width=_width(args, ctx)))
    if args.orphans and not args.file:
        _holdings(ctx)
    if errors:
        ctx.err(f"{_count(len({e.project for e in errors}), 'project')} could not be planned:")
        print_errors(ctx, errors)
        return INVALID
    return OK


def _holdings(ctx: Context) -> None:
    """The orphans, what the next tick releases and what waits (scaling.reconcile.holdings)."""
    from scaling.reconcile import Context as EngineContext
    from scaling.reconcile import holdings

    preview = holdings(
        datetime.now(UTC), context=EngineContext.from_settings(ctx.settings(), table_names=ctx.table_names)
    )
    ctx.out()
    ctx.out(f"Orphans (the app's holds that no row names): {len(preview.orphans) or 'none'}")
    for cluster, target in preview.orphans:
        ctx.out(f"  {cluster.name:<20} {target}")
    ctx.out(f"Released at the next tick: {len(preview.outcomes) or 'nothing'}")
    for outcome in preview.outcomes:
        ctx.out(f"  {outcome.action.why.project:<16} {outcome.action.target:<40} {outcome.action.why.reason}")
    for notice in preview.waiting:
        ctx.out(f"  waiting  {notice.why.project:<16} {notice.target:<40} {notice.message}")
    for problem in preview.problems:
        ctx.err(f"warning: not looked at: {problem}")


def _select(loaded: LoadedProjects, names: list[str] | None) -> tuple[tuple[Project, ...], tuple]:
    """The projects asked for (all when `names` is None) and the errors of those asked for."""
    if not names:
        return loaded.projects, loaded.errors
    known = {p.name for p in loaded.projects} | set(loaded.invalid_names)
    missing = [n for n in names if n not in known]
    if missing:
        raise CliError(
            f"no project named {', '.join(map(repr, missing))}; known: {', '.join(sorted(known)) or 'none'}", INVALID
        )
    wanted = set(names)
    return (
        tuple(p for p in loaded.projects if p.name in wanted),
        tuple(e for e in loaded.errors if e.project in wanted),
    )


def _week_json(week: ProjectWeek) -> dict[str, object]:
    zone = week.project.schedule.zone
    return {
        "name": week.project.name,
        "timezone": week.project.spec.timezone,
        "schedule": str(week.project.schedule),
        "enabled": week.project.enabled,
        "dry_run": week.project.dry_run,
        "up_at_start": week.up_at_start,
        "changes": [
            {"what": c.what, "utc": c.at.isoformat(), "local": c.at.astimezone(zone).isoformat()} for c in week.changes
        ],
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _local(at: datetime) -> str:
    offset = at.strftime("%z")
    return f"{at:%a %Y-%m-%d %H:%M} {at.tzname():<4} ({offset[:3]}:{offset[3:]})"


def _utc(at: datetime) -> str:
    return f"{at.astimezone(UTC):%a %Y-%m-%d %H:%M} UTC"


def _can_encode(ctx: Context, text: str) -> bool:
    encoding = getattr(ctx.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{days} days is out of range; expected 1-{MAX_DAYS}")
    return days


def _instant(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 date-time; expected e.g. 2026-11-30T09:00+09:00 or 2026-11-30T00:00Z"
        ) from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset; add one, e.g. {text.strip()}+09:00 or {text.strip()}Z"
        )
    return at


CELL_CHOICES = (60, 120, 180, 240, 360, 480, 720, 1440)  # minutes per character, finest first


def fitted_chart(rows, *, start: datetime, days: int, style, width: int | None) -> str:
    """The week chart with the finest cells whose lines fit into `width` columns (the coarsest otherwise)."""
    chart = ""
    for minutes in CELL_CHOICES:
        chart = week_chart(rows, start=start, days=days, cell_minutes=minutes, style=style)
        drawn = chart.splitlines()[:-1]  # the legend wraps like any text; the rows must not
        if width is None or max(len(line) for line in drawn) <= width:
            return chart
    return chart


def _width(args: argparse.Namespace, ctx) -> int | None:
    if args.width is not None:
        return max(args.width, 20)
    columns = (ctx.env.get("COLUMNS") or "").strip()
    if columns.isdigit():
        return int(columns)
    try:
        if ctx.stdout.isatty():
            return os.get_terminal_size(ctx.stdout.fileno()).columns
    except (AttributeError, OSError, ValueError):
        pass
    return None
