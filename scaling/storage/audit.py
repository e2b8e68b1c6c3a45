"""The audit trail: one row per decision and per action, in Table `Audit`, written in batches.

Keys. Every row is written once, in the partition of its UTC day:

    PartitionKey  day-<YYYYMMDD>        "everything of one day" (UTC day of the row's time)
    RowKey        <inverted time>-<tick id>[.<scope>]-<sequence>

"The latest rows of one project" is derived from the days: one query per span of days (a day, then
longer spans while they come back empty) with `Project eq`, newest span first. Rows used to be written a
second time under `project-<project>`; that doubled the writes and split a tick's rows into one small
transaction per project, about 60 % of a mass tick's CPU (bench/README.md). Those older rows are also in
their day partitions, so nothing written before is lost to a reader; the old partitions are no longer read.

The inverted time is `9999999999999999999 - microseconds since 1970` as 19 digits, so a partition
reads newest first and a time range is a RowKey range. The tick id, the scope (a hash of the cluster
whose run numbered the rows; clusters are reconciled in parallel, or by separate queue messages) and a
sequence keep rows of the same microsecond apart and make a retried batch overwrite itself instead of duplicating (rows
are upserted). A tick's rows go out as entity transactions, one per partition per 100 rows.

Rows hold what happened and why, never secrets: error texts pass through `scaling.logs.redact`.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from azure.data.tables import TableServiceClient

from scaling.logs import redact
from scaling.names import dns1123_label
from scaling.plan.actions import Action, Notice, Outcome, PoolChange, Result
from scaling.plan.pools import describe

if TYPE_CHECKING:
    from scaling.override import Override

UTC = UTC
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INVERT = 10**19 - 1
BATCH = 100  # the Table service's limit of operations per entity transaction
PARALLEL_BATCHES = 4  # transactions of one write in flight at once
DEFAULT_DAYS = 31  # how far back a query without `since` and without `project` looks
MAX_DAY_SPAN = 366  # a query without `project` reads one day partition per day: bound how many
MAX_TEXT = 1000
PROJECT_LOOKBACK_DAYS = 3660  # how far back a project query without `since` looks (ten years)


class AuditError(ValueError):
    """A bad audit query (unknown continuation, since after until, ...)."""


@dataclass(frozen=True)
class AuditRow:
    """One audit record. `target` is `deployment/<ns>/<name>`, `nodepool/<name>`, `project` or `cluster`."""

    time: datetime
    project: str
    target: str
    action: str  # scale-down | scale-up | report | override-set | override-clear
    result: Result
    trigger: str = "schedule"  # schedule | override | manual
    actor: str = "schedule"
    cluster: str | None = None  # the AKS resource id
    from_: str | None = None
    to: str | None = None
    reason: str | None = None
    error: str | None = None
    duration_ms: int | None = None
    tick: str | None = None
    sequence: int = 0
    scope: str | None = None  # who numbered `sequence` within the tick (one cluster's run), if not the tick

    @property
    def row_key(self) -> str:
        micros = (self.time - EPOCH) // timedelta(microseconds=1)
        scope = f".{self.scope}" if self.scope else ""
        return f"{_INVERT - micros:019d}-{self.tick or 'none'}{scope}-{self.sequence:05d}"

    @property
    def partition(self) -> str:
        return day_partition(self.time)


def day_partition(at: datetime) -> str:
    return f"day-{at.astimezone(UTC):%Y%m%d}"


def row_for(outcome: Outcome, *, time: datetime, tick: str | None, sequence: int, scope: str | None = None) -> AuditRow:
    """The audit row of one planned action and what acting on it did."""
    action: Action = outcome.action
    why = action.why
    cluster = str(action.cluster) if action.cluster else None
    if isinstance(action, Notice):
        name, before, after, reason = "report", None, None, action.message
        if why.reason:
            reason = f"{action.message} [{why.reason}]"
    elif isinstance(action, PoolChange):
        name, before, after, reason = (
            f"scale-{action.direction.value}",
            describe(action.before),
            describe(action.after),
            why.reason,
        )
    else:
        name, before, after, reason = f"scale-{action.direction.value}", action.before, action.after, why.reason
    return AuditRow(
        time=time,
        project=why.project,
        target=action.target,
        action=name,
        result=outcome.result,
        trigger=why.trigger.value,
        actor=why.actor,
        cluster=cluster,
        from_=before,
        to=after,
        reason=_clip(reason),
        error=_clip(redact(outcome.error)) if outcome.error else None,
        duration_ms=outcome.duration_ms,
        tick=tick,
        sequence=sequence,
        scope=scope,
    )


def override_row(override: Override, *, cleared: bool, now: datetime, tick: str | None = None) -> AuditRow:
    """The row that records an override being set or cleared by a person (trigger `manual`)."""
    what = override.action.value if override.replicas is None else f"replicas={override.replicas}"
    return AuditRow(
        time=now.astimezone(UTC),
        project=override.project,
        target=str(override.target) if override.target else "project",
        action="override-clear" if cleared else "override-set",
        result=Result.OK,
        trigger="manual",
        actor=override.actor,
        to=None if cleared else f"{what} until {override.until.astimezone(UTC):%Y-%m-%dT%H:%MZ}",
        reason=_clip(override.reason),
        tick=tick,
    )


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def to_entity(row: AuditRow, partition: str) -> dict[str, object]:
    entity: dict[str, object] = {"PartitionKey": partition, "RowKey": row.row_key}
    for f in fields(AuditRow):
        value = getattr(row, f.name)
        if value is None or f.name in ("sequence", "scope"):
            continue
        column = "From" if f.name == "from_" else f.name[:1].upper() + f.name[1:].replace("_ms", "Ms")
        entity[column] = value.value if isinstance(value, Result) else value
    return entity


def from_entity(entity: Mapping[str, object]) -> AuditRow:
    time = entity["Time"]
    if not isinstance(time, datetime):
        raise ValueError(f"audit row {entity.get('RowKey')}: Time is not a DateTime")
    return AuditRow(
        time=(time if time.tzinfo else time.replace(tzinfo=UTC)).astimezone(UTC),
        project=str(entity["Project"]),
        target=str(entity["Target"]),
        action=str(entity["Action"]),
        result=Result(str(entity["Result"])),
        trigger=str(entity.get("Trigger", "schedule")),
        actor=str(entity.get("Actor", "")),
        cluster=_text_or_none(entity.get("Cluster")),
        from_=_text_or_none(entity.get("From")),
        to=_text_or_none(entity.get("To")),
        reason=_text_or_none(entity.get("Reason")),
        error=_text_or_none(entity.get("Error")),
        duration_ms=_int_or_none(entity.get("DurationMs")),
        tick=_text_or_none(entity.get("Tick")),
        sequence=int(str(entity["RowKey"]).rsplit("-", 1)[-1]),
        scope=_scope(str(entity["RowKey"])),
    )


def _scope(row_key: str) -> str | None:
    middle = row_key[20:].rsplit("-", 1)[0]  # after "<19 digits>-", before "-<sequence>"
    return middle.rsplit(".", 1)[1] if "." in middle else None


def _key_bound(at: datetime) -> str:
    """The RowKey prefix of instant `at`; rows at or after `at` sort before `_key_bound(at)` + 1."""
    return f"{_INVERT - (at - EPOCH) // timedelta(microseconds=1):019d}"


class AuditStore:
    """Writes and reads Table `Audit` (see the module docstring for the keys)."""

    def __init__(self, service: TableServiceClient, table: str = "Audit") -> None:
        self._table = service.get_table_client(table)

    def write(self, rows: Sequence[AuditRow]) -> int:
        """Write `rows` (each in its day's partition) as upsert transactions; return the calls made.

        A transaction the service refuses (400/413: a row it will never take) is sent again row by row, so
        the other rows of it land; the first error is raised after every row was tried."""
        by_partition: dict[str, list[dict[str, object]]] = defaultdict(list)
        for row in rows:
            dns1123_label(row.project, what="audit project")
            by_partition[row.partition].append(to_entity(row, row.partition))
        batches = [
            [("upsert", e) for e in entities[start : start + BATCH]]
            for entities in by_partition.values()
            for start in range(0, len(entities), BATCH)
        ]
        if len(batches) <= 1:
            return sum(self._submit(batch) for batch in batches)
        # A mass tick is one transaction per 100 rows: in parallel, they keep up with the writes they
        # record. Every batch is tried; the first error is raised after (rows are upserts, so writing the
        # whole set again is harmless).
        with ThreadPoolExecutor(max_workers=min(PARALLEL_BATCHES, len(batches))) as pool:
            futures = [pool.submit(self._submit, batch) for batch in batches]
            errors = [error for error in (f.exception() for f in futures) if error is not None]
        if errors:
            raise errors[0]
        return sum(f.result() for f in futures)

    def _submit(self, batch: list[tuple[str, dict[str, object]]]) -> int:
        try:
            self._table.submit_transaction(batch)
            return 1
        except Exception as error:
            if len(batch) == 1 or not refused(error):
                raise
        first: Exception | None = None
        for _, entity in batch:
            try:
                self._table.upsert_entity(entity)
            except Exception as error:  # noqa: BLE001 - every row is tried; the first refusal is raised after
                first = first or error
        if first is not None:
            raise first
        return 1 + len(batch)

    def query(
        self,
        *,
        project: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        continuation: str | None = None,
        now: datetime | None = None,
    ) -> tuple[list[AuditRow], str | None]:
        """Rows with `since <= time < until`, newest first, at most `limit`; plus a continuation for the
        next page (None at the end). With a project: its rows in the day partitions from `until` (default
        `now`) back to `since` (default `PROJECT_LOOKBACK_DAYS` days before). Without: every row of the day
        partitions from `until` back to `since` (default `DEFAULT_DAYS` days before)."""
        if limit < 1:
            raise AuditError(f"limit {limit} must be at least 1")
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise AuditError(f"{name} {value.isoformat()} has no time zone")
        if since is not None and until is not None and since >= until:
            raise AuditError("since must be before until")
        if project is not None:
            return self._project_query(dns1123_label(project, what="project"), since, until, limit, continuation, now)
        last = (until or now or datetime.now(UTC)).astimezone(UTC)
        first = since.astimezone(UTC) if since else last - timedelta(days=DEFAULT_DAYS)
        if last - first > timedelta(days=MAX_DAY_SPAN):
            raise AuditError(
                f"without a project, since..until may span at most {MAX_DAY_SPAN} days "
                f"({first:%Y-%m-%d}..{last:%Y-%m-%d} is {(last - first).days}); give a project or a shorter range"
            )
        partitions = _days(first, last)
        after_key: str | None = None
        if continuation:
            resume_partition, after_key = _decode(continuation)
            partitions = list(partitions)
            if resume_partition not in partitions:
                raise AuditError("continuation does not belong to this query")
            partitions = partitions[partitions.index(resume_partition) :]
        rows: list[AuditRow] = []
        for partition in partitions:
            last_here = after_key or ""
            # One row more than needed tells whether a next page exists.
            for entity in self._range(partition, since, until, after_key, limit - len(rows) + 1):
                if len(rows) == limit:
                    return rows, _encode(partition, last_here)
                rows.append(from_entity(entity))
                last_here = str(entity["RowKey"])
            after_key = None
        return rows, None

    def _project_query(
        self,
        project: str,
        since: datetime | None,
        until: datetime | None,
        limit: int,
        continuation: str | None,
        now: datetime | None,
    ) -> tuple[list[AuditRow], str | None]:
        """A project's rows, newest first, from the day partitions: a span of days per query with `Project eq`,
        the span doubling while queries come back empty (ten empty years are about a dozen queries)."""
        last = (until or now or datetime.now(UTC)).astimezone(UTC).date()
        first = since.astimezone(UTC).date() if since else last - timedelta(days=PROJECT_LOOKBACK_DAYS)
        after_key: str | None = None
        if continuation:
            marker, after_key = _decode(continuation)
            if marker != f"project-{project}" or not _is_row_key(after_key):
                raise AuditError("continuation does not belong to this query")
            last = min(last, _key_time(after_key).date())
        rows: list[AuditRow] = []
        high, span = last, 1
        while high >= first and len(rows) <= limit:
            low = max(first, high - timedelta(days=span - 1))
            clauses = ["PartitionKey ge @low", "PartitionKey le @high", "Project eq @project"]
            parameters = {"low": f"day-{low:%Y%m%d}", "high": f"day-{high:%Y%m%d}", "project": project}
            if until is not None:
                clauses.append("RowKey gt @newest")  # time < until
                parameters["newest"] = _key_bound(until) + "~"
            if since is not None:
                clauses.append("RowKey lt @oldest")  # time >= since
                parameters["oldest"] = _key_bound(since) + "~"
            if after_key is not None:
                clauses.append("RowKey gt @after")
                parameters["after"] = after_key
            found = sorted(
                self._table.query_entities(" and ".join(clauses), parameters=parameters, results_per_page=1000),
                key=lambda entity: str(entity["RowKey"]),
            )
            rows += [from_entity(entity) for entity in found]
            span = 1 if found else span * 2
            high = low - timedelta(days=1)
        if len(rows) > limit:
            return rows[:limit], _encode(f"project-{project}", rows[limit - 1].row_key)
        return rows, None

    def _range(
        self, partition: str, since: datetime | None, until: datetime | None, after: str | None, want: int
    ) -> Iterator[Mapping[str, object]]:
        clauses, parameters = ["PartitionKey eq @pk"], {"pk": partition}
        if until is not None:
            clauses.append("RowKey gt @newest")  # time < until
            parameters["newest"] = _key_bound(until) + "~"
        if since is not None:
            clauses.append("RowKey lt @oldest")  # time >= since
            parameters["oldest"] = _key_bound(since) + "~"
        if after is not None:
            clauses.append("RowKey gt @after")
            parameters["after"] = after
        pages = self._table.query_entities(
            " and ".join(clauses), parameters=parameters, results_per_page=min(want, 1000)
        )
        return iter(pages)


def _is_row_key(key: str) -> bool:
    return len(key) > 20 and key[:19].isdigit() and key[19] == "-"


def _key_time(key: str) -> datetime:
    return EPOCH + timedelta(microseconds=_INVERT - int(key[:19]))


def refused(error: BaseException) -> bool:
    """True when Table Storage answered and refused the content (400, 413) or a row failed our own checks:
    sending it again cannot succeed. Anything else (no answer, 5xx, a missing table, throttling) may pass later."""
    if isinstance(error, ValueError):
        return True
    return getattr(error, "status_code", None) in (400, 413)


def _days(first: datetime, last: datetime) -> list[str]:
    """Day partitions from `last` back to `first`, newest first."""
    days, day = [], last.date()
    while day >= first.date():
        days.append(f"day-{day:%Y%m%d}")
        day -= timedelta(days=1)
    return days


def _encode(partition: str, row_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([partition, row_key]).encode()).decode()


def _decode(token: str) -> tuple[str, str]:
    # The token comes from the caller: any JSON at all may be inside (a number, null, a deep nest), and
    # every such token is a bad request, never an error of ours.
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, RecursionError):
        data = None
    if isinstance(data, list) and len(data) == 2 and all(isinstance(part, str) for part in data):
        return data[0], data[1]
    raise AuditError("continuation is not one this API returned")


def _text_or_none(value: object) -> str | None:
    return None if value is None else str(value)


def _int_or_none(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | float | str):
        return int(value)
    raise ValueError(f"not a number: {value!r}")
