"""Which standing notices were audited lately, shared by every process through one row each in `Locks`.

A notice that persists (a workload at 0 with no remembered size, a shared pool) is audited once and then
every NOTICE_REPEAT, not every tick. Each process remembers what it audited; this table makes the
rule hold across processes too (serve, a CLI `reconcile --once`, several Functions instances), which
otherwise each wrote the same row once:

    PartitionKey  "notice"
    RowKey        sha256 of (project, cluster, target, message, result), hex, first 40 characters
    Last          when it was last audited (UTC)

A claim reads the row and then creates it or replaces it with `If-Match` on the ETag read; whoever loses
the race does not audit. When the table cannot be reached the notice is audited anyway: a duplicate row
is better than a lost one.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

log = logging.getLogger("scaling.storage.notices")
PARTITION = "notice"


def notice_key(parts: tuple[object, ...]) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:40]


class NoticeClaims:
    """`claim(key, now, repeat)`: None when this caller should audit the notice now, else when another
    process audited it (so the caller asks again only once that is `repeat` ago)."""

    def __init__(self, service: TableServiceClient, table: str = "Locks") -> None:
        self._table = service.get_table_client(table)

    def claim(self, key: str, now: datetime, repeat: timedelta) -> datetime | None:
        now = now.astimezone(UTC)
        try:
            try:
                entity = self._table.get_entity(PARTITION, key)
            except ResourceNotFoundError:
                self._table.create_entity({"PartitionKey": PARTITION, "RowKey": key, "Last": now})
                return None
            last = entity.get("Last")
            if isinstance(last, datetime) and timedelta(0) <= now - last.astimezone(UTC) < repeat:
                return last.astimezone(UTC)
            entity["Last"] = now
            self._table.update_entity(
                entity,
                mode=UpdateMode.REPLACE,
                etag=entity.metadata["etag"],
                match_condition=MatchConditions.IfNotModified,
            )
            return None
        except (ResourceExistsError, ResourceModifiedError):
            return now  # another process claimed it a moment ago
        except AzureError as error:
            log.warning("notice claims unavailable (%s); auditing the notice anyway", type(error).__name__)
            return None
