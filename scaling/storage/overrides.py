"""Table `Overrides`: one row per project or workload override, loaded in one query, expired rows removed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, TableServiceClient, UpdateMode

from scaling.model import WorkloadRef
from scaling.names import dns1123_label
from scaling.override import Override, OverrideAction, OverrideError, as_utc, parse_target, target_key

UTC = UTC


# -- Table `Overrides` ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedOverrides:
    """One load: the active overrides, the rows that could not be read, and how many expired rows went."""

    active: tuple[Override, ...]
    errors: tuple[str, ...] = ()
    removed: int = 0


class OverrideStore:
    """Table `Overrides`: PartitionKey = project, RowKey = `target_key(target)`; one row per scope, so a
    new override of the same scope replaces the old one."""

    def __init__(self, service: TableServiceClient, table: str = "Overrides") -> None:
        self._table = service.get_table_client(table)

    def load(self, now: datetime, *, cleanup: bool = True) -> LoadedOverrides:
        """Every active override with one query; expired rows are ignored and (with `cleanup`) deleted,
        each guarded by its ETag so an override renewed meanwhile is not lost. Only rows expired by the
        wall clock too are deleted: a replay with a future `now` (`reconcile --once --now ...`) must not
        wipe overrides that are still running."""
        active: list[tuple[Override, TableEntity]] = []
        expired: list[tuple[Override, TableEntity]] = []
        errors: list[str] = []
        wall = datetime.now(UTC)
        for entity in self._table.list_entities():
            try:
                override = from_entity(entity)
            except (OverrideError, KeyError, TypeError, ValueError) as error:
                errors.append(f"override row {entity.get('PartitionKey')}/{entity.get('RowKey')}: {error}")
                continue
            (active if override.active(now) else expired).append((override, entity))
        removed = 0
        if cleanup:
            for override, entity in expired:
                if override.active(wall):
                    continue
                try:
                    self._table.delete_entity(entity, match_condition=MatchConditions.IfNotModified)
                    removed += 1
                except (ResourceModifiedError, ResourceNotFoundError):
                    pass  # renewed or removed by someone else meanwhile: theirs stands
        return LoadedOverrides(tuple(o for o, _ in active), tuple(errors), removed)

    def all(self) -> list[Override]:
        """Every readable row, active or expired (for `override list --all`)."""
        rows = []
        for entity in self._table.list_entities():
            try:
                rows.append(from_entity(entity))
            except (OverrideError, KeyError, TypeError, ValueError):
                continue
        return rows

    def save(self, override: Override) -> None:
        self._table.upsert_entity(to_entity(override), mode=UpdateMode.REPLACE)

    def delete(self, override: Override) -> None:
        self.clear(override.project, override.target)

    def clear(self, project: str, target: WorkloadRef | None = None) -> Override | None:
        """Remove the override of `project` (or of one of its workloads); return it, or None if there was none."""
        key = target_key(target)
        try:
            entity = self._table.get_entity(partition_key=project, row_key=key)
        except ResourceNotFoundError:
            return None
        self._table.delete_entity(entity, match_condition=MatchConditions.IfNotModified)
        try:
            return from_entity(entity)
        except (OverrideError, KeyError, TypeError, ValueError):
            return None


def to_entity(override: Override) -> dict[str, object]:
    entity: dict[str, object] = {
        "PartitionKey": dns1123_label(override.project, what="project"),
        "RowKey": target_key(override.target),
        "Action": override.action.value,
        "Until": override.until.astimezone(UTC),
        "Reason": override.reason,
        "Actor": override.actor,
        "Created": override.created.astimezone(UTC),
    }
    if override.target is not None:
        entity["Target"] = str(override.target)
    if override.replicas is not None:
        entity["Replicas"] = override.replicas
    return entity


def from_entity(entity: Mapping[str, object]) -> Override:
    target = parse_target(str(entity["Target"])) if entity.get("Target") else None
    if target_key(target) != entity["RowKey"]:
        raise OverrideError(f"RowKey {entity['RowKey']!r} does not match Target {entity.get('Target')!r}")
    until, created = entity["Until"], entity["Created"]
    if not isinstance(until, datetime) or not isinstance(created, datetime):
        raise OverrideError("Until and Created must be DateTime columns")
    replicas = entity.get("Replicas")
    return Override(
        project=dns1123_label(str(entity["PartitionKey"]), what="project"),
        action=OverrideAction(str(entity["Action"])),
        until=as_utc(until),
        reason=str(entity.get("Reason") or ""),
        actor=str(entity.get("Actor") or ""),
        created=as_utc(created),
        target=target,
        replicas=None if replicas is None else _count(replicas),
    )


def _count(value: object) -> int:
    if isinstance(value, int | str):
        return int(value)
    raise OverrideError(f"Replicas must be a whole number, not {value!r}")
