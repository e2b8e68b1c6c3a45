"""Audit rows off the tick's critical path: a bounded background writer, and a spool of rows not yet written.

A tick hands each row to an `AuditWriter` as soon as its action is done; one thread sends the rows in
transactions while the tick's other writes run, and `close()` (before the tick returns) waits for the
rest. Rows the writer could not send (Table Storage gone mid-tick) go to the `spool`, which the next
tick drains first: an action that happened is audited eventually and never blocks the next write.
Rows are upserts with fixed keys, so a row sent twice (a transaction that landed but whose answer was
lost) is one row.

Spools: `MemorySpool` lives as long as the process (the Functions host, `serve`); `FileSpool` keeps the
rows in a directory (`SCALING_AUDIT_SPOOL`), so a one-shot `reconcile --once` hands them to the next run.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import tempfile
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Protocol

from scaling.plan.actions import Result
from scaling.storage.audit import AuditRow, AuditStore, refused

log = logging.getLogger("scaling.audit")

QUEUE_ROWS = 10_000  # rows waiting for the writer at most; a producer past it waits (back-pressure)
CHUNK = 500  # rows the writer takes from the queue for one `AuditStore.write`
MAX_SPOOLED = 100_000  # rows a spool keeps at most (about 20 MB); past it the oldest go, and that is logged


class Spool(Protocol):
    def keep(self, rows: Sequence[AuditRow]) -> None: ...

    def take(self) -> list[AuditRow]: ...

    @property
    def pending(self) -> int: ...


class MemorySpool:
    """Unwritten rows in this process's memory (thread-safe)."""

    def __init__(self, limit: int = MAX_SPOOLED) -> None:
        self.limit, self._rows, self._lock = limit, list[AuditRow](), threading.Lock()

    def keep(self, rows: Sequence[AuditRow]) -> None:
        with self._lock:
            self._rows.extend(rows)
            overflow = len(self._rows) - self.limit
            if overflow > 0:
                del self._rows[:overflow]
                log.error("audit spool full: %d oldest unwritten rows dropped", overflow)

    def take(self) -> list[AuditRow]:
        with self._lock:
            rows, self._rows = self._rows, []
        return rows

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._rows)


class FileSpool:
    """Unwritten rows in one JSON-lines file of `directory`, replaced atomically on every change, so another
    process (the next `reconcile --once`) finds them."""

    FILE = "audit-spool.jsonl"

    def __init__(self, directory: str | os.PathLike[str], limit: int = MAX_SPOOLED) -> None:
        self.path, self.limit, self._lock = Path(directory) / self.FILE, limit, threading.Lock()

    def keep(self, rows: Sequence[AuditRow]) -> None:
        if not rows:
            return
        with self._lock:
            kept = self._read() + list(rows)
            if len(kept) > self.limit:
                log.error("audit spool full: %d oldest unwritten rows dropped", len(kept) - self.limit)
                kept = kept[-self.limit :]
            self._replace(kept)

    def take(self) -> list[AuditRow]:
        with self._lock:
            rows = self._read()
            if rows:
                self.path.unlink(missing_ok=True)
        return rows

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._read())

    def _read(self) -> list[AuditRow]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                rows.append(row_from_json(line))
            except (ValueError, KeyError, TypeError) as error:  # a torn or edited line: say so, keep the rest
                log.error("audit spool %s line %d unreadable, skipped: %s", self.path, number, error)
        return rows

    def _replace(self, rows: Sequence[AuditRow]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".audit-spool-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.writelines(row_to_json(row) + "\n" for row in rows)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def row_to_json(row: AuditRow) -> str:
    data = {f.name: getattr(row, f.name) for f in fields(AuditRow)}
    data["time"], data["result"] = row.time.isoformat(), row.result.value
    return json.dumps(data, separators=(",", ":"))


def row_from_json(line: str) -> AuditRow:
    data = json.loads(line)
    data["time"] = datetime.fromisoformat(data["time"])
    if data["time"].tzinfo is None:
        raise ValueError("time without a zone")
    data["result"] = Result(data["result"])
    return AuditRow(**data)


@dataclass(frozen=True)
class Flushed:
    """What a writer did: rows written, transactions sent, rows left in the spool, and the first error."""

    written: int = 0
    calls: int = 0
    spooled: int = 0
    error: str | None = None


_STOP = object()


class AuditWriter:
    """Sends the rows `submit`ted to it from a background thread; `close()` waits for all of them and returns
    what happened. Once a write fails, the rest of this writer's rows go straight to the spool (storage is
    gone; the next tick tries again) instead of each waiting out its own timeout."""

    def __init__(self, store: AuditStore, spool: Spool, *, limit: int = QUEUE_ROWS) -> None:
        self._store, self._spool = store, spool
        self._queue: queue.Queue[object] = queue.Queue(maxsize=limit)
        self._written = self._calls = self._spooled = 0
        self._error: str | None = None
        self._lock = threading.Lock()
        self._submitted: Counter[str | None] = Counter()
        self._written_by: Counter[str | None] = Counter()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def submit(self, rows: Sequence[AuditRow], *, key: str | None = None) -> None:
        """Queue `rows` (`key`: whose rows they are, for `written`); waits only while the queue is full."""
        if self._closed:
            raise RuntimeError("audit writer already closed")
        with self._lock:
            self._submitted[key] += len(rows)
        for row in rows:
            self._queue.put((row, key))

    def submitted(self, key: str | None) -> int:
        with self._lock:
            return self._submitted[key]

    def written(self, key: str | None) -> int:
        with self._lock:
            return self._written_by[key]

    def drain(self) -> int:
        """Queue the rows earlier ticks could not write (first, so the trail stays in order); return how many."""
        rows = self._spool.take()
        self.submit(rows)
        return len(rows)

    def close(self) -> Flushed:
        """Wait until every queued row is written or spooled."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
        return Flushed(self._written, self._calls, self._spooled, self._error)

    def _run(self) -> None:
        stop = False
        while not stop:
            chunk: list[tuple[AuditRow, str | None]] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stop = True
                    break
                assert isinstance(item, tuple)
                chunk.append(item)
                if len(chunk) >= CHUNK:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if chunk:
                self._send(chunk)

    def _send(self, chunk: list[tuple[AuditRow, str | None]]) -> None:
        rows = [row for row, _ in chunk]
        if self._error is None:
            try:
                self._count(chunk, self._store.write(rows))
                return
            except Exception as exc:  # noqa: BLE001 - sorted below: a refused row, or storage gone
                if refused(exc):
                    # The store sent every other row one by one; this one can never be written.
                    log.error("an audit row was refused by Table Storage, the others were written: %s", exc)
                    self._count(chunk, 0)
                    return
                self._error = f"{type(exc).__name__}: {exc}"
                log.error("audit rows not written, kept for the next tick: %s", self._error)
        self._spool.keep(rows)
        self._spooled += len(rows)

    def _count(self, chunk: list[tuple[AuditRow, str | None]], calls: int) -> None:
        with self._lock:
            self._calls += calls
            self._written += len(chunk)
            self._written_by.update(key for _, key in chunk)
