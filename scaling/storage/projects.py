"""The `Projects` table: every project loaded in one query, rows written with ETags so no edit is lost.

One row per project, PartitionKey `project`, RowKey the project name; the columns are in scaling/storage/rows.py.

Concurrency: operators edit rows in Storage Explorer or the portal while `schedules import` runs, and two
imports may run at once. `upsert` and `prune` therefore read the table first (one query) and then write
each row conditionally: a new row with *create* (fails if someone created it meanwhile), a changed row
with *replace* + `If-Match: <ETag read>`, a pruned row with *delete* + `If-Match`. A row that changed
between the read and the write is not overwritten or deleted; it is reported as a `Conflict` so the
operator can look and run the import again. Replace (not merge) matters: a merge would keep a column
the file no longer has (an old `Downtime` next to a new `Uptime` makes the row invalid).
Writes go in transactions of up to 100 rows (one partition); a transaction with a conflict is retried
row by row to find and report the conflicting rows while writing the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import EntityProperty, TableServiceClient, TableTransactionError, UpdateMode

from scaling.model import Project
from scaling.storage.rows import PARTITION, LoadedProjects, project_to_row, validate_rows
from scaling.storage.tables import TableNames

_BATCH = 100  # the Table service's limit of operations per transaction


@dataclass(frozen=True)
class StoredRow:
    """A row as stored: its name (RowKey), its columns (plain values, no keys) and its ETag."""

    name: str
    columns: Mapping[str, object]
    etag: str


@dataclass(frozen=True)
class Conflict:
    """A row that changed in the table after it was read; it was left as it is."""

    project: str
    message: str

    def __str__(self) -> str:
        return f"project {self.project!r}: {self.message}"


@dataclass(frozen=True)
class WriteReport:
    """What a write did, by project name."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = field(default=())


@dataclass(frozen=True)
class _Op:
    """One conditional write: the SDK transaction tuple and how to describe its outcome."""

    name: str
    outcome: str  # "added" | "updated" | "deleted"
    kind: str  # "create" | "update" | "delete"
    entity: dict[str, object]
    etag: str | None = None


class ProjectStore:
    """Reads and writes project rows of one table. The table must exist (see scaling.storage.tables.ensure_tables)."""

    def __init__(self, service: TableServiceClient, names: TableNames):
        self._table = service.get_table_client(names.projects)

    def read(self) -> dict[str, StoredRow]:
        """Every row of the project partition, by name: one query (the SDK follows continuation pages)."""
        entities = self._table.query_entities("PartitionKey eq @pk", parameters={"pk": PARTITION})
        rows = {}
        for entity in entities:
            columns = {k: _plain(v) for k, v in entity.items() if k not in ("PartitionKey", "RowKey")}
            rows[entity["RowKey"]] = StoredRow(entity["RowKey"], columns, str(entity.metadata["etag"]))
        return rows

    def load(self) -> LoadedProjects:
        """Every project, validated: bad rows become errors (project, column, message), the rest load."""
        return validate_rows((row.name, row.columns) for row in self.read().values())

    def export(self) -> list[dict[str, object]]:
        """Every row as stored, valid or not, sorted by name: `{"RowKey": name, <columns>...}`."""
        return [{"RowKey": row.name, **row.columns} for _, row in sorted(self.read().items())]

    def upsert(self, projects: Iterable[Project], *, current: Mapping[str, StoredRow] | None = None) -> WriteReport:
        """Write the canonical row of each project; rows already equal are left alone.

        `current` is what `read()` returned, when the caller has read it already."""
        current = self.read() if current is None else current
        ops: list[_Op] = []
        unchanged: list[str] = []
        for project in projects:
            columns = project_to_row(project)
            entity = {"PartitionKey": PARTITION, "RowKey": project.name, **columns}
            stored = current.get(project.name)
            if stored is None:
                ops.append(_Op(project.name, "added", "create", entity))
            elif dict(stored.columns) == columns:
                unchanged.append(project.name)
            else:
                ops.append(_Op(project.name, "updated", "update", entity, stored.etag))
        report = self._write(ops)
        return WriteReport(
            added=report.added, updated=report.updated, unchanged=tuple(unchanged), conflicts=report.conflicts
        )

    def prune(self, keep_names: Iterable[str], *, current: Mapping[str, StoredRow] | None = None) -> WriteReport:
        """Delete every project row whose name is not in `keep_names` (only if unchanged since read)."""
        current = self.read() if current is None else current
        keep = set(keep_names)
        ops = [
            _Op(name, "deleted", "delete", {"PartitionKey": PARTITION, "RowKey": name}, row.etag)
            for name, row in sorted(current.items())
            if name not in keep
        ]
        return self._write(ops)

    # -- writing ----------------------------------------------------------------------------------

    def _write(self, ops: list[_Op]) -> WriteReport:
        done: dict[str, list[str]] = {"added": [], "updated": [], "deleted": []}
        conflicts: list[Conflict] = []
        for i in range(0, len(ops), _BATCH):
            chunk = ops[i : i + _BATCH]
            try:
                self._table.submit_transaction([_transaction_op(op) for op in chunk])
                for op in chunk:
                    done[op.outcome].append(op.name)
            except TableTransactionError:
                # All or nothing: nothing of this chunk was written. Row by row finds the culprits.
                for op in chunk:
                    conflict = self._write_one(op)
                    if conflict is None:
                        done[op.outcome].append(op.name)
                    else:
                        conflicts.append(conflict)
        return WriteReport(
            added=tuple(done["added"]),
            updated=tuple(done["updated"]),
            deleted=tuple(done["deleted"]),
            conflicts=tuple(conflicts),
        )

    def _write_one(self, op: _Op) -> Conflict | None:
        unchanged = MatchConditions.IfNotModified
        try:
            if op.kind == "create":
                self._table.create_entity(op.entity)
            elif op.kind == "update":
                self._table.update_entity(op.entity, mode=UpdateMode.REPLACE, etag=op.etag, match_condition=unchanged)
            else:
                self._table.delete_entity(
                    partition_key=PARTITION, row_key=op.name, etag=op.etag, match_condition=unchanged
                )
        except ResourceExistsError:
            return Conflict(op.name, "was created by someone else while importing; not overwritten")
        except ResourceModifiedError:
            verb = "deleted" if op.kind == "delete" else "overwritten"
            return Conflict(op.name, f"was changed by someone else while importing; not {verb}")
        except ResourceNotFoundError:
            if op.kind == "delete":
                return None  # someone else deleted it: the outcome wanted
            return Conflict(op.name, "was deleted by someone else while importing; not written again")
        return None


def _transaction_op(op: _Op) -> tuple:
    if op.kind == "create":
        return ("create", op.entity)
    condition = {"etag": op.etag, "match_condition": MatchConditions.IfNotModified}
    if op.kind == "update":
        return ("update", op.entity, {"mode": UpdateMode.REPLACE, **condition})
    return ("delete", op.entity, condition)


def _plain(value: object) -> object:
    """Table values as plain Python: the SDK wraps Int64 (and values it cannot type) in EntityProperty."""
    return value.value if isinstance(value, EntityProperty) else value
