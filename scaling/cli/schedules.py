"""`python -m scaling schedules validate|import|export`: schedules files in and out of the `Projects` table."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from scaling.cli import CONFLICT, INVALID, OK, USAGE, CliError, Context
from scaling.model import Project, ProjectError
from scaling.schedule.lint import spec_warnings
from scaling.storage.project_file import FileError, ScheduleFile, dump, read_file
from scaling.storage.rows import LoadedProjects, project_to_row, validate_rows


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "schedules",
        help="validate, import and export project schedules",
        description="Project schedules: one row per project in the Projects table; files are YAML or JSON "
        "mappings 'projects:' of name -> columns (see docs/schedules.md).",
    )
    commands = parser.add_subparsers(dest="schedules_command", metavar="SUBCOMMAND", required=True)

    validate = commands.add_parser("validate", help="check a schedules file; exit 1 listing every bad project")
    validate.add_argument("file", metavar="FILE", help="YAML or JSON file (.json), or - for standard input")
    validate.add_argument("--json", action="store_true", help="print the result as JSON")
    validate.add_argument(
        "--diff",
        action="store_true",
        help="compare with the table: what importing would add, update (and with --prune delete), and release",
    )
    validate.add_argument("--prune", action="store_true", help="with --diff: as `import --prune` would")
    validate.set_defaults(handler=_validate)

    import_ = commands.add_parser("import", help="validate a file, then upsert its projects into the table")
    import_.add_argument("file", metavar="FILE", help="YAML or JSON file (.json), or - for standard input")
    import_.add_argument("--prune", action="store_true", help="delete table rows of projects not in the file")
    import_.add_argument(
        "--skip-invalid", action="store_true", help="import the valid projects even if others are invalid"
    )
    import_.add_argument("--json", action="store_true", help="print what was done as JSON")
    import_.set_defaults(handler=_import)

    export = commands.add_parser("export", help="print every row of the table as a schedules file")
    export.add_argument("--format", choices=("yaml", "json"), default="yaml", help="output format (default yaml)")
    export.set_defaults(handler=_export)


@dataclass(frozen=True)
class FileProjects:
    """A schedules file read and validated: the projects, every error, and every name in the file."""

    source: str
    loaded: LoadedProjects
    names: tuple[str, ...]


def load_file(path: str) -> FileProjects:
    """Read and validate a schedules file; CliError (INVALID / USAGE) when it cannot be read at all."""
    try:
        parsed: ScheduleFile = read_file(path)
    except FileError as exc:
        raise CliError(str(exc), INVALID) from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}", USAGE) from None
    except UnicodeDecodeError as exc:
        raise CliError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})", INVALID) from None
    loaded = validate_rows(parsed.rows)
    loaded = LoadedProjects(projects=loaded.projects, errors=parsed.errors + loaded.errors)
    return FileProjects(source=path, loaded=loaded, names=parsed.names)


def describe(project: Project) -> str:
    """One line an operator can check a project against: where, when, what."""
    spec = project.spec
    when = f"uptime {spec.uptime}" if spec.uptime else f"downtime {spec.downtime}"
    extras = [f"holidays {spec.holidays}"] if spec.holidays else []
    if spec.closed_dates:
        extras.append(f"closed {spec.closed_dates}")
    shown = project.schedule.shown_zone  # None: the spec names its zones
    zone = [shown] if shown else []
    pools = "no node pools"
    if project.node_pools:
        warmup = f", {project.warmup_minutes} min warm-up" if project.warmup_minutes else ""
        pools = f"pools {', '.join(project.node_pools)} ({project.node_pool_action.value}{warmup})"
    flags = ([] if project.enabled else ["DISABLED"]) + (["dry run"] if project.dry_run else [])
    parts = [
        project.name,
        f"cluster {project.cluster.name}",
        f"{when} ({', '.join(zone + extras)})" if (zone + extras) else when,
        f"namespaces {', '.join(project.namespaces)}",
        pools,
        f"access {project.access.value}",
        *flags,
    ]
    return " | ".join(parts)


def print_errors(ctx: Context, errors: tuple[ProjectError, ...]) -> None:
    for error in errors:
        ctx.err(f"  {error}")


def errors_json(errors: tuple[ProjectError, ...]) -> list[dict[str, str]]:
    return [{"project": e.project, "column": e.column, "message": e.message} for e in errors]


def schedule_warnings(projects: tuple[Project, ...] | list[Project]) -> list[ProjectError]:
    """Valid but suspicious Uptime / Downtime values (scaling/schedule/lint.py), as (project, column, message)."""
    found = []
    for project in projects:
        for column, text in (("Uptime", project.spec.uptime), ("Downtime", project.spec.downtime)):
            found += [ProjectError(project.name, column, message) for message in spec_warnings(column.lower(), text)]
    return found


def _validate(args: argparse.Namespace, ctx: Context) -> int:
    file = load_file(args.file)
    loaded = file.loaded
    code = INVALID if loaded.errors else OK
    warnings = schedule_warnings(loaded.projects)
    if args.json:
        ctx.json(
            {
                "file": file.source,
                "valid": [{"name": p.name, **project_to_row(p)} for p in loaded.projects],
                "errors": errors_json(loaded.errors),
                "warnings": errors_json(tuple(warnings)),
            }
        )
        return code
    total = len(file.names)
    if loaded.errors:
        ctx.err(f"{file.source}: {len(loaded.invalid_names)} of {total} projects invalid:")
        print_errors(ctx, loaded.errors)
    ctx.out(f"{file.source}: {len(loaded.projects)} of {total} projects valid")
    for project in loaded.projects:
        ctx.out(f"  {describe(project)}")
    if warnings:
        ctx.err(f"{file.source}: {len(warnings)} warnings (valid, but probably not what was meant):")
        for warning in warnings:
            ctx.err(f"  warning: {warning}")
    if args.diff:
        _diff(ctx, file, prune=args.prune)
    return code


def _after(current_rows: dict, projects: tuple[Project, ...], names: tuple[str, ...], *, prune: bool):
    """The table as importing `projects` would leave it: (projects that load, names of rows that do not)."""
    before = validate_rows((row.name, row.columns) for row in current_rows.values())
    imported = {p.name: p for p in projects}
    kept = [p for p in before.projects if p.name not in imported and (not prune or p.name in names)]
    unreadable = {e.project for e in before.errors if e.project not in imported and (not prune or e.project in names)}
    return before, sorted([*kept, *imported.values()], key=lambda p: p.name), unreadable


def _warnings(ctx: Context, current_rows: dict, projects: tuple[Project, ...], names, *, prune: bool) -> list[str]:
    from scaling.cli.release_warning import release_warnings

    before, after, unreadable = _after(current_rows, projects, tuple(names), prune=prune)
    return release_warnings(ctx, before.projects, after, unreadable=unreadable)


def _diff(ctx: Context, file: FileProjects, *, prune: bool) -> None:
    """What `import` would do to the table, and what the next tick would release because of it."""
    current = ctx.store().read()
    before = {p.name: p for p in validate_rows((r.name, r.columns) for r in current.values()).projects}
    changes = []
    for project in file.loaded.projects:
        old = before.get(project.name)
        if project.name not in current:
            changes.append(f"  add      {project.name}")
        elif old is None or project_to_row(old) != project_to_row(project):
            changes.append(f"  update   {project.name}")
    if prune:
        changes += [f"  delete   {name}" for name in sorted(current) if name not in file.names]
    ctx.out(f"{file.source} against table {ctx.table_names.projects}: {len(changes)} row change(s)")
    for line in changes:
        ctx.out(line)
    for warning in _warnings(ctx, current, file.loaded.projects, file.names, prune=prune):
        ctx.err(f"warning: {warning}")


def _import(args: argparse.Namespace, ctx: Context) -> int:
    file = load_file(args.file)
    loaded = file.loaded
    if loaded.errors and not args.skip_invalid:
        ctx.err(
            f"{file.source}: {len(loaded.invalid_names)} of {len(file.names)} projects invalid; nothing imported "
            "(fix them, or pass --skip-invalid to import the others):"
        )
        print_errors(ctx, loaded.errors)
        return INVALID
    if args.prune and not file.names:
        raise CliError(f"{file.source} has no projects; --prune would delete every row, refusing", INVALID)
    store = ctx.store()
    current = store.read()
    for warning in _warnings(ctx, current, loaded.projects, file.names, prune=args.prune):
        ctx.err(f"warning: {warning}")
    written = store.upsert(loaded.projects, current=current)
    # Invalid entries count as "in the file": a typo must not delete the row it was meant to change.
    pruned = store.prune(file.names, current=current) if args.prune else None
    conflicts = written.conflicts + (pruned.conflicts if pruned else ())
    if args.json:
        ctx.json(
            {
                "table": ctx.table_names.projects,
                "added": written.added,
                "updated": written.updated,
                "unchanged": written.unchanged,
                "deleted": pruned.deleted if pruned else [],
                "skipped": errors_json(loaded.errors),
                "conflicts": [{"project": c.project, "message": c.message} for c in conflicts],
            }
        )
    else:
        ctx.out(f"{file.source} -> table {ctx.table_names.projects} at {ctx.storage_url}")
        for label, names in (("added", written.added), ("updated", written.updated), ("unchanged", written.unchanged)):
            ctx.out(f"  {label:<9} {len(names):>4}  {', '.join(names)}".rstrip())
        if pruned is not None:
            ctx.out(f"  {'pruned':<9} {len(pruned.deleted):>4}  {', '.join(pruned.deleted)}".rstrip())
        if loaded.errors:
            ctx.err(
                f"skipped {len(loaded.invalid_names)} invalid projects (--skip-invalid); their rows were not changed:"
            )
            print_errors(ctx, loaded.errors)
        if conflicts:
            ctx.err(
                f"{len(conflicts)} rows changed in the table while importing and were left as they are; "
                "check them and run the import again:"
            )
            for conflict in conflicts:
                ctx.err(f"  {conflict}")
    return CONFLICT if conflicts else OK


def _export(args: argparse.Namespace, ctx: Context) -> int:
    rows = [(str(row["RowKey"]), {k: v for k, v in row.items() if k != "RowKey"}) for row in ctx.store().export()]
    ctx.stdout.write(dump(rows, fmt=args.format))
    invalid = validate_rows(rows).errors
    if invalid:  # exported as stored, so the file shows what to fix; a warning, not a failure
        ctx.err(f"warning: {len({e.project for e in invalid})} exported rows are invalid:")
        print_errors(ctx, invalid)
    return OK
