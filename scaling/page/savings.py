"""What scaling down saved: node-hours avoided per project and node pool, from the audit trail (pure).

A node pool's saving is the time it spent scaled down times the nodes it ran before (its original
node count), priced with an editable VM-size -> hourly price table (scaling/page/prices.json).

Read from audit rows (`target` `nodepool/<name>`, result `ok` only: dry-run, failed, busy and skipped
rows changed nothing):
- a **down** row opens an interval with the nodes its `from` value ran (`3`, `3 (autoscale 1-5)`; a
  `stopped (3)` pool runs none); the next **up** row of the same pool closes it;
- a pool **still down** when the month (or `now`) ends is counted up to that edge and flagged;
- a pool down since an earlier month is counted from the month's start (the caller reads the audit
  from `LOOKBACK` before the month, so the opening down row is seen);
- **missing rows**: a second down with no up between (an up row lost in a crash, or the pool brought up
  by hand) closes the first interval at the schedule's next up time (less the warm-up), marked
  estimated; an up with no down before it, on a pool that ran no node, opens at the schedule's last down
  time before it, marked estimated. Without a schedule nothing is guessed: the interval is not counted
  and a note says so. Savings are never over-claimed silently: every estimate and gap is in `notes`.

Months are calendar months in the report's zone (default UTC); durations are differences of instants,
so a month with a DST change in that zone has its real length (Berlin's October has 745 hours).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from scaling.schedule.hours import Schedule

UTC = UTC
LOOKBACK = timedelta(days=62)  # how far before the month the audit is read to find open intervals
DEFAULT_PRICES = Path(__file__).with_name("prices.json")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_NODES = re.compile(r"^\s*(stopped\s*\()?\s*(\d+)")
_UP_WORDS = ("up", "start", "restore")
_DOWN_WORDS = ("down", "stop", "zero")


class SavingsError(ValueError):
    """Bad report input (month, zone, price table); the message says what and where."""


@dataclass(frozen=True)
class PoolEvent:
    """One applied node pool change read from the audit: `nodes_before` / `nodes_after` are running nodes."""

    at: datetime
    project: str
    cluster: str
    pool: str
    down: bool
    nodes_before: int
    nodes_after: int


@dataclass(frozen=True)
class PriceTable:
    """VM size -> price per node-hour, with where the figures came from and when."""

    currency: str
    as_of: str
    source: str
    prices: Mapping[str, float]

    def hourly(self, vm_size: str | None) -> float | None:
        if not vm_size:
            return None
        lowered = {size.lower(): price for size, price in self.prices.items()}
        return lowered.get(vm_size.lower())

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """Read a price table file (JSON: currency, as_of, source, prices {size: hourly price})."""
        where = Path(path) if path else DEFAULT_PRICES
        try:
            raw = json.loads(where.read_text(encoding="utf-8"))
        except OSError as error:
            raise SavingsError(f"price table {where}: cannot be read ({error.strerror or error})") from None
        except json.JSONDecodeError as error:
            raise SavingsError(f"price table {where}: not valid JSON at line {error.lineno}: {error.msg}") from None
        return cls.from_mapping(raw, where=str(where))

    @classmethod
    def from_mapping(cls, raw: Any, *, where: str = "price table") -> PriceTable:
        if not isinstance(raw, dict) or not isinstance(raw.get("prices"), dict):
            raise SavingsError(f"{where}: expected an object with a 'prices' object of VM size -> hourly price")
        prices: dict[str, float] = {}
        for size, price in raw["prices"].items():
            if isinstance(price, bool) or not isinstance(price, (int, float)) or price < 0:
                raise SavingsError(f"{where}: prices.{size} = {price!r}; expected a non-negative number per hour")
            prices[str(size)] = float(price)
        return cls(
            currency=str(raw.get("currency", "USD")),
            as_of=str(raw.get("as_of", "unknown")),
            source=str(raw.get("source", "")),
            prices=prices,
        )


@dataclass(frozen=True)
class PoolSavings:
    project: str
    cluster: str
    pool: str
    vm_size: str | None
    hours_down: float
    node_hours: float
    intervals: int
    price_per_hour: float | None  # None: the VM size is not in the price table (or unknown)
    cost: float | None
    still_down: bool = False
    estimated: bool = False


@dataclass(frozen=True)
class ProjectSavings:
    project: str
    node_hours: float
    cost: float  # of the priced pools only
    unpriced_pools: tuple[str, ...] = ()


@dataclass(frozen=True)
class SavingsReport:
    month: str
    zone: str
    start: datetime
    end: datetime  # exclusive; `now` when the month is not over yet
    currency: str
    prices_as_of: str
    pools: tuple[PoolSavings, ...]
    projects: tuple[ProjectSavings, ...]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def total_node_hours(self) -> float:
        return sum(p.node_hours for p in self.pools)

    @property
    def total_cost(self) -> float:
        return sum(p.cost or 0.0 for p in self.pools)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: instants in UTC (`Z`), figures rounded to 2 decimals."""
        return {
            "month": self.month,
            "zone": self.zone,
            "start": _z(self.start),
            "end": _z(self.end),
            "currency": self.currency,
            "prices_as_of": self.prices_as_of,
            "total_node_hours": round(self.total_node_hours, 2),
            "total_cost": round(self.total_cost, 2),
            "projects": [
                {
                    "project": p.project,
                    "node_hours": round(p.node_hours, 2),
                    "cost": round(p.cost, 2),
                    "unpriced_pools": list(p.unpriced_pools),
                }
                for p in self.projects
            ],
            "pools": [
                {
                    "project": p.project,
                    "cluster": p.cluster,
                    "pool": p.pool,
                    "vm_size": p.vm_size,
                    "hours_down": round(p.hours_down, 2),
                    "node_hours": round(p.node_hours, 2),
                    "intervals": p.intervals,
                    "price_per_hour": p.price_per_hour,
                    "cost": None if p.cost is None else round(p.cost, 2),
                    "still_down": p.still_down,
                    "estimated": p.estimated,
                }
                for p in self.pools
            ],
            "notes": list(self.notes),
        }


def month_range(month: str, zone: str = "UTC") -> tuple[datetime, datetime]:
    """[start, end) of calendar month `YYYY-MM` in `zone`, as UTC instants."""
    match = _MONTH.match(month.strip()) if isinstance(month, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise SavingsError(f"month {month!r}: expected YYYY-MM, such as 2026-11")
    try:
        tz = ZoneInfo(zone)
    except Exception:
        raise SavingsError(f"zone {zone!r}: not an IANA time zone name such as UTC or Europe/Berlin") from None
    year, number = int(match.group(1)), int(match.group(2))
    if not 1970 <= year <= 9000:
        raise SavingsError(f"month {month!r}: year {year} is outside 1970-9000")
    first = date(year, number, 1)
    following = date(year + number // 12, number % 12 + 1, 1)
    return (
        datetime.combine(first, time(), tzinfo=tz).astimezone(UTC),
        datetime.combine(following, time(), tzinfo=tz).astimezone(UTC),
    )


def pool_events(rows: Iterable[Any]) -> tuple[list[PoolEvent], list[str]]:
    """The applied node pool changes among audit rows (objects or mappings with time, project, cluster,
    target, action, from / from_, to, result), oldest first, and a note per pool row that could not be read."""
    events: list[PoolEvent] = []
    notes: list[str] = []
    for row in rows:
        target = str(_get(row, "target") or "")
        if not target.startswith("nodepool/") or str(_result(row)) != "ok":
            continue
        at = _get(row, "time")
        before, after = _nodes(_get(row, "from_", "from")), _nodes(_get(row, "to"))
        if not isinstance(at, datetime) or at.tzinfo is None or before is None or after is None:
            notes.append(
                f"audit row {target} at {at}: from {_get(row, 'from_', 'from')!r} / to {_get(row, 'to')!r} "
                "not readable as node counts; skipped"
            )
            continue
        action = str(_get(row, "action") or "").lower()
        if any(word in action for word in _DOWN_WORDS):
            down = True
        elif any(word in action for word in _UP_WORDS):
            down = False
        else:
            down = after < before
        events.append(
            PoolEvent(
                at.astimezone(UTC),
                str(_get(row, "project") or ""),
                str(_get(row, "cluster") or ""),
                target.split("/", 1)[1],
                down,
                before,
                after,
            )
        )
    events.sort(key=lambda e: e.at)
    return events, notes


def compute_savings(
    rows: Iterable[Any],
    *,
    month: str,
    now: datetime,
    prices: PriceTable,
    vm_sizes: Mapping[tuple[str, str], str] | Mapping[str, str] = {},
    schedules: Mapping[str, tuple[Schedule, int]] = {},
    zone: str = "UTC",
) -> SavingsReport:
    """The savings of `month` from audit `rows` (read from `LOOKBACK` before the month to its end).

    `vm_sizes` maps (cluster, pool) — or just pool — to the pool's VM size; `schedules` maps a project to
    (its schedule, warm-up minutes) for estimating missing rows. `now` (aware) cuts a month not over yet."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise SavingsError(f"now {now.isoformat()} is naive; expected a timezone-aware datetime")
    start, month_end = month_range(month, zone)
    end = max(start, min(month_end, now.astimezone(UTC)))
    events, notes = pool_events(rows)
    by_pool: dict[tuple[str, str], list[PoolEvent]] = {}
    for event in events:
        by_pool.setdefault((event.cluster, event.pool), []).append(event)
    pools: list[PoolSavings] = []
    for (cluster, pool), history in sorted(by_pool.items()):
        intervals, still_down, pool_notes = _intervals(history, schedules, end)
        notes.extend(pool_notes)
        seconds = node_seconds = 0.0
        counted = 0
        estimated = False
        for lo, hi, nodes, guessed in intervals:
            lo, hi = max(lo, start), min(hi, end)
            if hi <= lo:
                continue
            span = (hi - lo).total_seconds()
            seconds += span
            node_seconds += span * nodes
            counted += 1
            estimated |= guessed
        if counted == 0 and not still_down:
            continue
        vm_size = vm_sizes.get((cluster, pool)) or vm_sizes.get(pool)  # type: ignore[call-overload]
        price = prices.hourly(vm_size)
        node_hours = node_seconds / 3600
        project = history[-1].project
        pools.append(
            PoolSavings(
                project=project,
                cluster=cluster,
                pool=pool,
                vm_size=vm_size,
                hours_down=seconds / 3600,
                node_hours=node_hours,
                intervals=counted,
                price_per_hour=price,
                cost=None if price is None else node_hours * price,
                still_down=still_down and end <= month_end,
                estimated=estimated,
            )
        )
        if price is None and node_hours > 0:
            notes.append(
                f"pool {pool} ({cluster}): VM size {vm_size or 'unknown'} has no price in the table; cost not counted"
            )
    pools.sort(key=lambda p: (p.project, p.cluster, p.pool))
    projects = []
    for name in sorted({p.project for p in pools}):
        own = [p for p in pools if p.project == name]
        projects.append(
            ProjectSavings(
                project=name,
                node_hours=sum(p.node_hours for p in own),
                cost=sum(p.cost or 0.0 for p in own),
                unpriced_pools=tuple(p.pool for p in own if p.cost is None and p.node_hours > 0),
            )
        )
    return SavingsReport(
        month=month,
        zone=zone,
        start=start,
        end=end,
        currency=prices.currency,
        prices_as_of=prices.as_of,
        pools=tuple(pools),
        projects=tuple(projects),
        notes=tuple(notes),
    )


def read_audit(
    query: Callable[..., tuple[Sequence[Any], str | None]],
    *,
    month: str,
    zone: str = "UTC",
    page: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> list[Any]:
    """Every audit row from `LOOKBACK` before `month` to its end, through `query(project=None, since=,
    until=, limit=, continuation=)` (AuditStore.query or the API backend's audit), following pages.
    `progress(rows so far)` is called after each page."""
    start, end = month_range(month, zone)
    rows: list[Any] = []
    token: str | None = None
    while True:
        batch, token = query(project=None, since=start - LOOKBACK, until=end, limit=page, continuation=token)
        rows.extend(batch)
        if progress is not None:
            progress(len(rows))
        if not token:
            return rows


def vm_sizes_of(clusters: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(cluster resource id, pool) -> VM size, from observed clusters (`scaling.plan.observed.ObservedCluster`)."""
    return {(str(seen.cluster), pool.name): pool.vm_size for seen in clusters for pool in seen.pools}


# -- intervals ----------------------------------------------------------------------------------------

_Interval = tuple[datetime, datetime, int, bool]  # start, end, nodes, estimated


def _intervals(
    history: list[PoolEvent], schedules: Mapping[str, tuple[Schedule, int]], end: datetime
) -> tuple[list[_Interval], bool, list[str]]:
    """The down intervals of one pool's events (oldest first), whether it is down at `end`, and notes."""
    out: list[_Interval] = []
    notes: list[str] = []
    opened: tuple[datetime, int, bool] | None = None  # since, nodes, estimated
    last_up: datetime | None = None
    for event in history:
        if event.at > end:
            break
        name = f"pool {event.pool} of project {event.project}"
        if event.down:
            if opened is not None:
                since, nodes, guessed = opened
                up_at = _scheduled_up(schedules.get(event.project), since, event.at)
                if up_at is None:
                    notes.append(
                        f"{name}: scaled down at {_z(event.at)} again with no up row since {_z(since)}; "
                        "the time between is not counted (no schedule to estimate when it came up)"
                    )
                else:
                    out.append((since, up_at, nodes, True))
                    notes.append(
                        f"{name}: no up row between the downs at {_z(since)} and {_z(event.at)}; "
                        f"assumed up at {_z(up_at)} from the schedule (estimated)"
                    )
            opened = (event.at, event.nodes_before, False) if event.nodes_before > 0 else None
            continue
        if opened is not None:
            since, nodes, guessed = opened
            out.append((since, event.at, nodes, guessed))
        elif event.nodes_before == 0 and event.nodes_after > 0:
            down_at = _scheduled_down(schedules.get(event.project), event.at, after=last_up)
            if down_at is None:
                notes.append(
                    f"{name}: brought up at {_z(event.at)} with no down row before it; "
                    "its down time is not counted (no schedule to estimate when it went down)"
                )
            else:
                out.append((down_at, event.at, event.nodes_after, True))
                notes.append(
                    f"{name}: up at {_z(event.at)} with no down row; assumed down since {_z(down_at)} "
                    "from the schedule (estimated)"
                )
        opened = None
        last_up = event.at
    still_down = opened is not None
    if opened is not None:
        since, nodes, guessed = opened
        out.append((since, end, nodes, guessed))
    return out, still_down, notes


def _scheduled_up(entry: tuple[Schedule, int] | None, since: datetime, before: datetime) -> datetime | None:
    """When the pool's schedule (less the warm-up) first brought it up after `since`, if before `before`."""
    if entry is None:
        return None
    schedule, warmup = entry
    lead = timedelta(minutes=warmup)
    for at, up in schedule.transitions(since + lead, before + lead):
        if up:
            return at - lead if since < at - lead < before else None
    return None


def _scheduled_down(entry: tuple[Schedule, int] | None, at: datetime, *, after: datetime | None) -> datetime | None:
    """The schedule's last down transition before `at` (within a week, and after the last up row)."""
    if entry is None:
        return None
    schedule, _ = entry
    floor = max(at - timedelta(days=8), after) if after else at - timedelta(days=8)
    downs = [t for t, up in schedule.transitions(floor, at) if not up and t < at]
    return downs[-1] if downs else None


def _nodes(value: Any) -> int | None:
    """Running nodes in an audit `from` / `to` value: `3`, `3 (autoscale 1-5)` -> 3; `stopped (3)` -> 0."""
    if value is None:
        return None
    match = _NODES.match(str(value))
    if not match:
        return None
    return 0 if match.group(1) else int(match.group(2))


def _get(row: Any, *names: str) -> Any:
    for name in names:
        if isinstance(row, Mapping):
            if name in row:
                return row[name]
        elif hasattr(row, name):
            return getattr(row, name)
    return None


def _result(row: Any) -> str:
    value = _get(row, "result")
    return getattr(value, "value", value)


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


CSV_COLUMNS = (
    "project",
    "cluster",
    "pool",
    "vm_size",
    "hours_down",
    "node_hours",
    "price_per_hour",
    "cost",
    "still_down",
    "estimated",
)


def to_csv(report: SavingsReport) -> str:
    """One line per node pool, then one `TOTAL` line per project and a grand total."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for pool in report.as_dict()["pools"]:
        writer.writerow(["" if pool[c] is None else pool[c] for c in CSV_COLUMNS])
    for project in report.projects:
        writer.writerow(
            [project.project, "TOTAL", "", "", "", f"{project.node_hours:.2f}", "", f"{project.cost:.2f}", "", ""]
        )
    writer.writerow(
        ["ALL", "TOTAL", "", "", "", f"{report.total_node_hours:.2f}", "", f"{report.total_cost:.2f}", "", ""]
    )
    return out.getvalue()
