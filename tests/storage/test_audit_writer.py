"""The background audit writer and its spools: rows written, or kept for the next tick, never dropped silently."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from scaling.plan.actions import Result
from scaling.storage.audit import AuditRow
from scaling.storage.audit_writer import AuditWriter, FileSpool, MemorySpool, row_from_json, row_to_json

T0 = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)


def row(n: int, project: str = "project-a") -> AuditRow:
    return AuditRow(
        time=T0 + timedelta(seconds=n),
        project=project,
        target=f"deployment/{project}/web-{n}",
        action="scale-down",
        result=Result.OK,
        from_="2",
        to="0",
        reason="outside business hours",
        tick="t1",
        sequence=n,
        scope="abcd1234",
    )


class Store:
    """An AuditStore stand-in: records writes, or fails them all once `down` is set."""

    def __init__(self) -> None:
        self.rows: list[AuditRow] = []
        self.down = False

    def write(self, rows):
        if self.down:
            raise ConnectionError("connection refused")
        self.rows += rows
        return 1


def test_every_submitted_row_is_written_by_the_time_close_returns():
    store = Store()
    writer = AuditWriter(store, MemorySpool())
    for n in range(1234):
        writer.submit([row(n)], key="c1")
    flushed = writer.close()
    assert [r.sequence for r in store.rows] == list(range(1234))
    assert (flushed.written, flushed.spooled, flushed.error) == (1234, 0, None)
    assert writer.written("c1") == writer.submitted("c1") == 1234


def test_rows_the_store_cannot_take_go_to_the_spool_and_the_next_writer_drains_them_first():
    store, spool = Store(), MemorySpool()
    store.down = True
    writer = AuditWriter(store, spool)
    writer.submit([row(1), row(2)], key="c1")
    flushed = writer.close()
    assert flushed.spooled == 2 and "connection refused" in flushed.error and spool.pending == 2
    store.down = False
    later = AuditWriter(store, spool)
    assert later.drain() == 2
    later.submit([row(3)])
    later.close()
    assert [r.sequence for r in store.rows] == [1, 2, 3] and spool.pending == 0


def test_a_small_queue_holds_a_fast_producer_back_instead_of_dropping_rows():
    store = Store()
    writer = AuditWriter(store, MemorySpool(), limit=3)
    writer.submit([row(n) for n in range(50)])
    assert writer.close().written == 50


def test_a_row_survives_the_file_spool_unchanged():
    original = row(7)
    assert row_from_json(row_to_json(original)) == original


def test_the_file_spool_hands_rows_to_another_process_and_is_empty_after(tmp_path):
    FileSpool(tmp_path).keep([row(1), row(2)])
    again = FileSpool(tmp_path)  # a new process: only the directory is shared
    assert again.pending == 2
    assert [r.sequence for r in again.take()] == [1, 2]
    assert again.pending == 0 and not list(tmp_path.iterdir())


def test_an_unreadable_spool_line_is_reported_and_the_others_kept(tmp_path, caplog):
    spool = FileSpool(tmp_path)
    spool.keep([row(1)])
    with spool.path.open("a", encoding="utf-8") as handle:
        handle.write('{"torn": \n')
    spool.keep([row(2)])
    assert [r.sequence for r in spool.take()] == [1, 2]
    assert "line 2 unreadable" in caplog.text


@pytest.mark.parametrize("spool_type", [MemorySpool, FileSpool])
def test_a_full_spool_drops_the_oldest_rows_and_says_so(spool_type, tmp_path, caplog):
    spool = spool_type(tmp_path, limit=2) if spool_type is FileSpool else spool_type(limit=2)
    spool.keep([row(1), row(2), row(3)])
    assert [r.sequence for r in spool.take()] == [2, 3]
    assert "oldest unwritten rows dropped" in caplog.text
