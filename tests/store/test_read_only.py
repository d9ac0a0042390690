"""SQLite readers never hold the write lock: a page's read, the live stream's poll or the worker reading a call's
events in the middle of a long read does not keep the edge's commit or the worker's transaction waiting, and
a write slipped into a read is refused instead of taking the lock."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlalchemy.exc import OperationalError

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine, read_only, writable
from gateway.store.schema import events, users
from tests.conftest import make_settings

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/gateway.db"
    eng = make_engine(url, pool_size=1)  # one connection: what a reader leaves on it, the next writer meets
    bootstrap(eng, make_settings(tmp_path, database_url=url))
    yield eng
    eng.dispose()


def _event(n: int) -> NewEvent:
    return NewEvent(connector="test", account="a", key=f"k{n}", body=b"{}", received_at=T0, name="x")


def _short_patience(eng: Engine) -> None:
    """A writer that gives up after 200 ms instead of SQLite's 30 s: a reader holding the lock fails the test."""
    event.listen(eng, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA busy_timeout=200"))


def test_a_writer_is_not_kept_waiting_by_a_read_in_progress(tmp_path: Path, engine: Engine) -> None:
    writer = make_engine(f"sqlite:///{tmp_path}/gateway.db", pool_size=1)
    _short_patience(writer)
    reading, wrote = threading.Event(), threading.Event()

    async def long_read() -> int:
        def read(conn: object) -> int:
            assert hasattr(conn, "execute")
            n = int(conn.execute(select(func.count()).select_from(events)).scalar_one())
            reading.set()
            assert wrote.wait(5)  # the read's transaction stays open while the writer commits
            return n + int(conn.execute(select(func.count()).select_from(events)).scalar_one())
        return await Database(engine).read(read)

    def write() -> None:
        assert reading.wait(5)
        with writer.begin() as conn:
            event_log.append(conn, [_event(1)])
        wrote.set()

    thread = threading.Thread(target=write)
    thread.start()
    try:
        seen = asyncio.run(long_read())
    finally:
        wrote.set()
        thread.join(5)
    with writer.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 1
    assert seen == 0  # one snapshot for the whole read: the row committed meanwhile is not in it
    writer.dispose()


def test_a_write_inside_a_read_is_refused_and_the_connection_writes_again_afterwards(engine: Engine) -> None:
    with engine.connect() as conn, pytest.raises(OperationalError, match="readonly"):
        read_only(conn).execute(insert(users).values(name="x", role="operator", created_at=T0))
    with engine.begin() as conn:  # the same pooled connection, now in a writer's transaction
        event_log.append(conn, [_event(2)])
    raw = writable(engine.raw_connection())  # the event writer takes its connection raw, after some reader
    try:
        raw.driver_connection.execute("BEGIN IMMEDIATE")
        assert event_log.append_to(raw.driver_connection, "sqlite", [_event(3)])[0][1] is True
        raw.driver_connection.execute("COMMIT")
    finally:
        raw.close()
    with engine.connect() as conn:
        assert sorted(conn.execute(select(events.c.key)).scalars()) == ["k2", "k3"]


def test_the_raw_connection_a_reader_used_last_is_made_writable(engine: Engine) -> None:
    with engine.connect() as conn:
        read_only(conn).execute(select(func.count()).select_from(events)).scalar_one()
    raw = writable(engine.raw_connection())
    try:
        raw.driver_connection.execute("BEGIN IMMEDIATE")
        event_log.append_to(raw.driver_connection, "sqlite", [_event(4)])
        raw.driver_connection.execute("COMMIT")
    finally:
        raw.close()
    with engine.connect() as conn:
        assert list(conn.execute(select(events.c.key)).scalars()) == ["k4"]
