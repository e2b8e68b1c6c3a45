"""One `Projects` row <-> one validated Project: the columns, their rules, and every error with its column.

A row is a mapping of column name to value, as Table Storage returns it (str, int, bool) or as a schedules
file holds it. `row_to_project` reads every column and collects *all* problems of a row before giving up,
so one `schedules validate` run lists everything an operator has to fix. `project_to_row` is its inverse
on canonical values: `row_to_project(name, project_to_row(p)) == p`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from scaling.model import (
    Access,
    ChannelKind,
    NodePoolAction,
    NotifyChannel,
    Project,
    ProjectError,
    Release,
    ScheduleSpec,
    WorkloadKind,
    WorkloadSelector,
)
from scaling.names import InvalidName, agent_pool_name, cluster_id, dns1123_label, dns1123_subdomain
from scaling.schedule.grammar import check_zone, parse_closed_dates, parse_holidays
from scaling.schedule.hours import Schedule, ScheduleError, parse

PARTITION = "project"  # every project row lives in this partition; other partitions are not read
COLUMNS = (
    "Cluster",
    "Namespaces",
    "Workloads",
    "Exclude",
    "NodePools",
    "NodePoolAction",
    "Uptime",
    "Downtime",
    "TimeZone",
    "Holidays",
    "ClosedDates",
    "WarmupMinutes",
    "MaxOverrideHours",
    "Access",
    "Enabled",
    "DryRun",
    "Notify",
    "NotifyMinutes",
    "NotifyAfter",
    "Release",
)
# Set by Table Storage itself; never an operator's column.
SYSTEM_COLUMNS = frozenset({"PartitionKey", "RowKey", "Timestamp"})
MAX_OVERRIDE_HOURS = 24 * 31  # a month: longer is a project out of the app's hands (Enabled: false)
MAX_WARMUP_MINUTES = 720  # 12 hours: longer is a typo, not a slow GPU node
DEFAULT_NOTIFY_MINUTES = 15
MAX_NOTIFY_MINUTES = 240  # a heads-up four hours ahead is forgotten by the time it matters
MAX_CHANNELS = 5
NOTIFY_SETTING = re.compile(r"NOTIFY_[A-Z0-9_]{1,100}")  # only settings made for this: never another secret
NAME_COLUMN = "RowKey"  # the project name; in a schedules file, the key under `projects:`
SCHEDULE_COLUMN = "Uptime/Downtime"  # reported when neither or both are set

ALL_WORKLOADS: tuple[WorkloadSelector, ...] = ()  # an empty Workloads column: every workload listed
NO_POOLS: tuple[str, ...] = ()
NO_CHANNELS: tuple[NotifyChannel, ...] = ()
T = TypeVar("T")


class InvalidRow(ValueError):
    """A row that does not describe a project; `errors` names every bad column."""

    def __init__(self, errors: tuple[ProjectError, ...]):
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class LoadedProjects:
    """Every project that validated, sorted by name, and one error per bad column of the others."""

    projects: tuple[Project, ...]
    errors: tuple[ProjectError, ...]

    @property
    def invalid_names(self) -> tuple[str, ...]:
        """Names of the projects that did not load, in order of first error."""
        return tuple(dict.fromkeys(e.project for e in self.errors))

    def get(self, name: str) -> Project | None:
        return next((p for p in self.projects if p.name == name), None)


def validate_rows(rows: Iterable[tuple[str, Mapping[str, object]]]) -> LoadedProjects:
    """Validate `(name, columns)` pairs; a bad row never stops the others."""
    projects: list[Project] = []
    errors: list[ProjectError] = []
    for name, row in rows:
        try:
            projects.append(row_to_project(name, row))
        except InvalidRow as bad:
            errors.extend(bad.errors)
    return LoadedProjects(projects=tuple(sorted(projects, key=lambda p: p.name)), errors=tuple(errors))


def row_to_project(name: str, row: Mapping[str, object]) -> Project:
    """Validate one row (system columns ignored); raise InvalidRow listing every bad column."""
    reader = _Reader(name, row)
    reader.check(NAME_COLUMN, name, lambda v: dns1123_label(v, what="project name"))
    for column in row:
        if column not in COLUMNS and column not in SYSTEM_COLUMNS:
            reader.error(column, _unknown_column(column))
    cluster = reader.required("Cluster", lambda v: cluster_id(_text(v)))
    namespaces = reader.required("Namespaces", lambda v: _items(v, lambda n: dns1123_label(n, what="namespace")))
    workloads = reader.optional("Workloads", _selectors, ALL_WORKLOADS)
    exclude = reader.optional("Exclude", _selectors, ALL_WORKLOADS[:0])
    node_pools = reader.optional("NodePools", lambda v: _items(v, agent_pool_name), NO_POOLS)
    node_pool_action = reader.optional("NodePoolAction", lambda v: _choice(v, NodePoolAction), NodePoolAction.ZERO)
    warmup = reader.optional("WarmupMinutes", _warmup, 0)
    max_override = reader.optional("MaxOverrideHours", _override_hours, None)
    access = reader.optional("Access", lambda v: _choice(v, Access), Access.API)
    enabled = reader.optional("Enabled", _bool, True)
    dry_run = reader.optional("DryRun", _bool, False)
    notify = reader.optional("Notify", _channels, NO_CHANNELS)
    notify_minutes = reader.optional("NotifyMinutes", _notify_minutes, DEFAULT_NOTIFY_MINUTES)
    notify_after = reader.optional("NotifyAfter", _bool, False)
    release = reader.optional("Release", lambda v: _choice(v, Release), Release.NOW)
    spec, schedule = _schedule(reader)
    if reader.errors or schedule is None:
        raise InvalidRow(tuple(reader.errors))
    return Project(
        name=name,
        cluster=cluster,
        namespaces=namespaces,
        spec=spec,
        schedule=schedule,
        workloads=workloads,
        exclude=exclude,
        node_pools=node_pools,
        node_pool_action=node_pool_action,
        warmup_minutes=warmup,
        max_override_hours=max_override,
        access=access,
        enabled=enabled,
        dry_run=dry_run,
        notify=notify,
        notify_minutes=notify_minutes,
        notify_after=notify_after,
        release=release,
    )


def project_to_row(project: Project) -> dict[str, object]:
    """The canonical columns of `project` (no keys), in COLUMNS order; empty optional columns left out."""
    spec = project.spec
    row: dict[str, object] = {
        "Cluster": project.cluster.resource_id,
        "Namespaces": ", ".join(project.namespaces),
        "Workloads": ", ".join(map(str, project.workloads)),
        "Exclude": ", ".join(map(str, project.exclude)),
        "NodePools": ", ".join(project.node_pools),
        "NodePoolAction": project.node_pool_action.value,
        "Uptime": spec.uptime or "",
        "Downtime": spec.downtime or "",
        "TimeZone": spec.timezone,
        "Holidays": spec.holidays or "",
        "ClosedDates": spec.closed_dates or "",
        "WarmupMinutes": project.warmup_minutes,
        "MaxOverrideHours": project.max_override_hours or "",
        "Access": project.access.value,
        "Enabled": project.enabled,
        "DryRun": project.dry_run,
        "Release": "" if project.release is Release.NOW else project.release.value,
    }
    if not project.node_pools:  # pool columns mean nothing without pools; keep them only when not default
        if project.node_pool_action is NodePoolAction.ZERO:
            del row["NodePoolAction"]
        if project.warmup_minutes == 0:
            del row["WarmupMinutes"]
    if project.notify:  # the notify columns only where the project notifies, or differs from the default
        row["Notify"] = ", ".join(map(str, project.notify))
    if project.notify or project.notify_minutes != DEFAULT_NOTIFY_MINUTES:
        row["NotifyMinutes"] = project.notify_minutes
    if project.notify_after:
        row["NotifyAfter"] = True
    return {column: value for column, value in row.items() if value != ""}


# -- reading columns -----------------------------------------------------------------------------


class _Reader:
    """Reads columns of one row, turning each failure into a ProjectError for that column."""

    def __init__(self, name: str, row: Mapping[str, object]):
        self.name, self.row = name, row
        self.errors: list[ProjectError] = []

    def error(self, column: str, message: str) -> None:
        self.errors.append(ProjectError(project=self.name, column=column, message=message))

    def check(self, column: str, value: object, read: Callable[[Any], T]) -> T | None:
        try:
            return read(value)
        except (InvalidName, ScheduleError, ValueError) as exc:
            self.error(column, str(exc))
            return None

    def passes(self, column: str, value: object, read: Callable[[Any], object]) -> bool:
        before = len(self.errors)
        self.check(column, value, read)
        return len(self.errors) == before

    def optional(self, column: str, read: Callable[[Any], T], default: T) -> T:
        value = self.row.get(column)
        if _blank(value):
            return default
        result = self.check(column, value, read)
        return default if result is None else result

    def required(self, column: str, read: Callable[[Any], T]) -> T:
        value = self.row.get(column)
        if _blank(value):
            self.error(column, "is required and missing or empty")
            return None  # type: ignore[return-value]  # only used when the row is rejected
        return self.check(column, value, read)  # type: ignore[return-value]

    def text(self, column: str) -> str | None:
        return self.optional(column, lambda v: _text(v).strip(), None)


def _schedule(reader: _Reader) -> tuple[ScheduleSpec, Schedule | None]:
    """The schedule columns: each of TimeZone / Holidays / ClosedDates checked on its own so an error
    names the right column, then the spec itself (with the defaults where a companion column is bad)."""
    uptime, downtime = reader.text("Uptime"), reader.text("Downtime")
    zone = reader.text("TimeZone") or "UTC"
    holidays, closed = reader.text("Holidays"), reader.text("ClosedDates")
    zone_ok = reader.passes("TimeZone", zone, lambda z: check_zone(z, where=f"'{z}'"))
    holidays_ok = holidays is None or reader.passes("Holidays", holidays, parse_holidays)
    closed_ok = closed is None or reader.passes("ClosedDates", closed, parse_closed_dates)
    spec = ScheduleSpec(uptime=uptime, downtime=downtime, timezone=zone, holidays=holidays, closed_dates=closed)
    if uptime and downtime:
        reader.error(SCHEDULE_COLUMN, "both Uptime and Downtime are set; give exactly one of them")
        return spec, None
    if not uptime and not downtime and not _has_type_error(reader, ("Uptime", "Downtime")):
        reader.error(
            SCHEDULE_COLUMN,
            "neither Uptime nor Downtime is set; give exactly one, e.g. Uptime 'Mon-Fri 09:00-18:00' or 'always'",
        )
        return spec, None
    if not uptime and not downtime:
        return spec, None
    column = "Uptime" if uptime else "Downtime"
    schedule = reader.check(
        column,
        None,
        lambda _: parse(
            uptime=uptime,
            downtime=downtime,
            timezone=zone if zone_ok else "UTC",
            holidays=holidays if holidays_ok else None,
            closed_dates=closed if closed_ok else None,
        ),
    )
    return spec, schedule


def _has_type_error(reader: _Reader, columns: tuple[str, ...]) -> bool:
    return any(e.column in columns for e in reader.errors)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        joined = ", ".join(str(v) for v in value)
        raise ValueError(f"must be text, got a list; write it as one comma-separated text: '{joined}'")
    raise ValueError(f"must be text, got {type(value).__name__} {value!r}")


def _items(value: object, read: Callable[[str], T]) -> tuple[T, ...]:
    """A comma-separated list; empty entries and repeats are errors (they are usually typos)."""
    text = _text(value)
    parts = [part.strip() for part in text.split(",")]
    if any(not part for part in parts):
        raise ValueError(f"'{text}' has an empty entry (a doubled, leading or trailing comma)")
    seen: set[str] = set()
    for part in parts:
        if part in seen:
            raise ValueError(f"'{text}' lists '{part}' twice")
        seen.add(part)
    return tuple(read(part) for part in parts)


def _selectors(value: object) -> tuple[WorkloadSelector, ...]:
    return _items(value, _selector)


def _selector(text: str) -> WorkloadSelector:
    kind, slash, name = text.partition("/")
    kinds = {k.value: k for k in WorkloadKind}
    if not slash or kind.strip().lower() not in kinds or "/" in name:
        raise ValueError(f"'{text}' is not 'deployment/<name>' or 'statefulset/<name>'")
    return WorkloadSelector(kinds[kind.strip().lower()], dns1123_subdomain(name.strip(), what="workload name"))


def _choice(value: object, enum: type[T]) -> T:
    text = _text(value).strip().lower()
    allowed = [member.value for member in enum]  # type: ignore[attr-defined]
    if text not in allowed:
        raise ValueError(f"'{_text(value)}' is not one of {' | '.join(allowed)}")
    return enum(text)  # type: ignore[call-arg]


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{value!r} is not a boolean; expected true or false")


def _warmup(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} is not a whole number of minutes (0-{MAX_WARMUP_MINUTES})")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(f"'{value}' is not a whole number of minutes (0-{MAX_WARMUP_MINUTES})")
        value = int(value.strip())
    if not 0 <= value <= MAX_WARMUP_MINUTES:
        raise ValueError(f"{value} minutes is out of range; expected 0-{MAX_WARMUP_MINUTES}")
    return value


def _channels(value: object) -> tuple[NotifyChannel, ...]:
    channels = _items(value, _channel)
    if len(channels) > MAX_CHANNELS:
        raise ValueError(f"{len(channels)} channels; at most {MAX_CHANNELS} are allowed")
    return channels


def _channel(text: str) -> NotifyChannel:
    kind, colon, setting = text.partition(":")
    kinds = " | ".join(k.value for k in ChannelKind)
    if "://" in text or kind.strip().lower() in ("http", "https"):
        raise ValueError(
            "a webhook URL is a secret and never goes in a row: put it in an app setting named NOTIFY_<NAME> "
            f"(a Key Vault reference in Azure) and write '<{kinds}>:NOTIFY_<NAME>' here"
        )
    if not colon or kind.strip().lower() not in {k.value for k in ChannelKind}:
        raise ValueError(f"'{text}' is not '<{kinds}>:NOTIFY_<NAME>'")
    setting = setting.strip()
    if not NOTIFY_SETTING.fullmatch(setting):
        raise ValueError(
            f"'{setting}' is not an app setting name of the form NOTIFY_<NAME> (capitals, digits, underscores)"
        )
    return NotifyChannel(ChannelKind(kind.strip().lower()), setting)


def _notify_minutes(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NOTIFY_MINUTES:
        raise ValueError(f"{value!r} is not a whole number of minutes from 1 to {MAX_NOTIFY_MINUTES}")
    return value


def _override_hours(value: object) -> int:
    wrong = f"is not a whole number of hours (1-{MAX_OVERRIDE_HOURS})"
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"{value!r} {wrong}")
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise ValueError(f"'{value}' {wrong}")
        value = int(value.strip())
    if not 1 <= value <= MAX_OVERRIDE_HOURS:
        raise ValueError(f"{value} hours is out of range; expected 1-{MAX_OVERRIDE_HOURS}")
    return value


def _unknown_column(column: str) -> str:
    close = difflib.get_close_matches(column, COLUMNS, n=1, cutoff=0.6) or [
        c for c in COLUMNS if c.lower() == column.lower()
    ]
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown column; {hint}known columns: {', '.join(COLUMNS)}"
