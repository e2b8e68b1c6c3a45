"""Table `Notifications`: one row per project and message (kind + transition), one state per channel,
changed only with the row's ETag, so each message goes to each channel once across ticks, instances and
retries.

    PartitionKey  <project>
    RowKey        heads-up-<YYYYMMDDTHHMMZ> | after-<...>        (scaling.notify.headsup.Due.key)
    Channels      JSON {"<kind>:<setting>": {"state": "claimed" | "sent" | "failed", "at": ..., ...}}

`claim` marks the channels this instance will send, in one conditional write; a second instance that
read the row before that write gets 412 and reads again, and then finds them claimed. A claim that was
never finished (the process died while sending) is taken over after `lease`: the message then goes out
again with the same delivery id, which a generic webhook receiver can use to drop the repeat.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableServiceClient, UpdateMode

from scaling.notify.deliver import Delivery

LEASE = timedelta(minutes=3)  # longer than one delivery can take with every retry (deliver.Policy)
TRIES = 5  # conditional writes lost to other instances before giving up for this tick


@dataclass(frozen=True)
class ChannelState:
    state: str  # claimed | sent | failed
    at: datetime
    owner: str | None = None
    status: int | None = None
    attempts: int = 0
    error: str | None = None


class NotifyStore:
    def __init__(self, service: TableServiceClient, table: str = "Notifications", *, lease: timedelta = LEASE):
        self._table = service.get_table_client(table)
        self.lease = lease

    def states(self, project: str, key: str) -> dict[str, ChannelState]:
        entity = self._read(project, key)
        return {} if entity is None else _states(entity)

    def claim(self, project: str, key: str, channels: Sequence[str], *, owner: str, now: datetime) -> list[str]:
        """The channels of `channels` this caller now owns for this message (none already sent, failed or
        claimed by a live lease)."""
        for _ in range(TRIES):
            entity = self._read(project, key)
            states = {} if entity is None else _states(entity)
            mine = [c for c in channels if _free(states.get(c), now, self.lease)]
            if not mine:
                return []
            for channel in mine:
                states[channel] = ChannelState("claimed", now, owner=owner)
            if self._write(project, key, entity, states):
                return mine
        return []

    def finish(self, project: str, key: str, results: dict[str, Delivery], *, owner: str, now: datetime) -> None:
        """Record what sending did, for the channels this owner claimed."""
        for _ in range(TRIES):
            entity = self._read(project, key)
            states = {} if entity is None else _states(entity)
            for channel, delivery in results.items():
                current = states.get(channel)
                if current is not None and current.state == "claimed" and current.owner != owner:
                    continue  # our lease ran out and someone else took the channel over
                states[channel] = ChannelState(
                    "sent" if delivery.ok else "failed",
                    now,
                    owner=owner,
                    status=delivery.status,
                    attempts=delivery.attempts,
                    error=delivery.error,
                )
            if self._write(project, key, entity, states):
                return

    def record_wake(self, project: str, started: datetime, seconds: float) -> None:
        """One measured wake-up (from the override to everything Ready); the first measure of a wake-up wins."""
        row = {
            "PartitionKey": project,
            "RowKey": f"wake-{started.astimezone(UTC):%Y%m%dT%H%M%S%fZ}",
            "Seconds": float(seconds),
        }
        with contextlib.suppress(ResourceExistsError):
            self._table.create_entity(row)

    def wake_seconds(self, project: str) -> list[float]:
        """The project's measured wake-ups, oldest first."""
        rows = self._table.query_entities(
            "PartitionKey eq @p and RowKey ge 'wake-' and RowKey lt 'wake.'", parameters={"p": project}
        )
        return [float(r["Seconds"]) for r in rows if "Seconds" in r]

    def _read(self, project: str, key: str) -> dict | None:
        try:
            entity = self._table.get_entity(project, key)
        except ResourceNotFoundError:
            return None
        return dict(entity) | {"_etag": entity.metadata["etag"]}

    def _write(self, project: str, key: str, entity: dict | None, states: dict[str, ChannelState]) -> bool:
        row = {"PartitionKey": project, "RowKey": key, "Channels": json.dumps({c: _dump(s) for c, s in states.items()})}
        try:
            if entity is None:
                self._table.create_entity(row)
            else:
                self._table.update_entity(
                    row, mode=UpdateMode.REPLACE, etag=entity["_etag"], match_condition=MatchConditions.IfNotModified
                )
        except (ResourceExistsError, ResourceModifiedError):
            return False
        return True


def _free(state: ChannelState | None, now: datetime, lease: timedelta) -> bool:
    if state is None:
        return True
    return state.state == "claimed" and now - state.at >= lease


def _states(entity: dict) -> dict[str, ChannelState]:
    raw = json.loads(str(entity.get("Channels") or "{}"))
    return {channel: _load(value) for channel, value in raw.items()}


def _dump(state: ChannelState) -> dict:
    return {
        "state": state.state,
        "at": state.at.astimezone(UTC).isoformat(),
        "owner": state.owner,
        "status": state.status,
        "attempts": state.attempts,
        "error": state.error,
    }


def _load(value: dict) -> ChannelState:
    return ChannelState(
        state=str(value["state"]),
        at=datetime.fromisoformat(value["at"]),
        owner=value.get("owner"),
        status=value.get("status"),
        attempts=int(value.get("attempts") or 0),
        error=value.get("error"),
    )
