"""The group-commit writer: one real transaction per batch, and an answer only after its commit.

`event_log.append` writes through the driver's cursor, which on SQLite commits by itself unless a
transaction was begun; these tests watch the transaction from a second connection, so a writer that
never begins one (or never commits it) is caught on both stores, and a commit that fails is answered
as a failure to every request that waited on it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, func, select

from gateway.connectors.base import NewEvent
from gateway.http.writer import EventWriter
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.schema import events
from tests.conftest import make_settings

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def engines(tmp_path: Path, database_url: str) -> Iterator[tuple[Engine, Engine]]:
    """The writer's engine, and an observer's engine on the same database (its own connections)."""
    writer_engine = make_engine(database_url)
    bootstrap(writer_engine, make_settings(tmp_path, database_url=database_url))
    observer = create_engine(database_url)  # plain reads: no BEGIN IMMEDIATE queueing behind the writer
    yield writer_engine, observer
    writer_engine.dispose()
    observer.dispose()


def lead(key: str) -> NewEvent:
    return NewEvent(connector="manual", account="tester", key=key, body=json.dumps({"name": key}).encode(),
                    received_at=T0, name="lead")


def stored_keys(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(events.c.key).where(events.c.connector == "manual")).scalars())


async def test_a_batch_is_written_in_one_transaction_invisible_until_its_commit(
        engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, observer = engines
    seen_at_commit: list[tuple[bool, set[str]]] = []
    real = engine.dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:  # runs on the writer's thread, just before the driver commits
        open_ = dbapi_connection.in_transaction if engine.dialect.name == "sqlite" else \
            dbapi_connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
        seen_at_commit.append((open_, stored_keys(observer)))
        real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    writer = EventWriter(engine)
    await writer.start()
    try:
        answers = await asyncio.gather(*(writer.store([lead(f"k{i}")]) for i in range(5)))
    finally:
        await writer.stop()
    assert seen_at_commit == [(True, set())]  # one commit for the five requests, nothing visible before it
    assert stored_keys(observer) == {f"k{i}" for i in range(5)}
    assert [[is_new for _, is_new in a] for a in answers] == [[True]] * 5


def fail_commits(engine: Engine, monkeypatch: pytest.MonkeyPatch, thread_prefix: str = "event-writer",
                 times: int | None = None) -> list[int]:
    """Make the driver's commit fail on the writer's thread (a full disk, a lost server), every time or the first
    `times`: returns the failures."""
    failures: list[int] = []
    real = engine.dialect.do_commit

    def do_commit(dbapi_connection: Any) -> None:
        if threading.current_thread().name.startswith(thread_prefix) and (times is None or len(failures) < times):
            failures.append(1)
            raise engine.dialect.loaded_dbapi.OperationalError("disk I/O error (injected by the test)")
        real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_commit", do_commit)
    return failures


async def test_a_failed_commit_fails_every_waiting_request_and_keeps_nothing(
        engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    engine, observer = engines
    failures = fail_commits(engine, monkeypatch)
    writer = EventWriter(engine)
    await writer.start()
    try:
        answers = await asyncio.gather(*(writer.store([lead(f"k{i}"), lead(f"k{i}b")]) for i in range(4)),
                                       return_exceptions=True)
        # the four requests shared one transaction; it failed, and failed again on a fresh connection
        assert failures == [1, 1]
        assert all(isinstance(a, Exception) and "disk I/O error" in str(a) for a in answers), answers
        assert stored_keys(observer) == set()  # the inserts went with the failed transaction
        assert (writer.accepted, writer.duplicates) == (0, 0)

        monkeypatch.undo()  # the disk is back: the provider's retry is stored, once, as new
        [[(event_id, is_new)]] = [await writer.store([lead("k0")])]
    finally:
        await writer.stop()
    assert is_new and stored_keys(observer) == {"k0"}
    with observer.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events).where(events.c.id == event_id)).scalar() == 1


async def test_a_transaction_that_fails_once_is_stored_on_a_fresh_connection(
        engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer keeps one connection; when a transaction fails on it (a restarted PostgreSQL, a disk hiccup), the
    connection is thrown away and the same events are tried once more on a new one, stored once each."""
    engine, observer = engines
    failed = fail_commits(engine, monkeypatch, times=1)
    writer = EventWriter(engine)
    await writer.start()
    try:
        answers = await asyncio.gather(*(writer.store([lead(f"k{i}")]) for i in range(4)))
        again = await writer.store([lead("k9")])
    finally:
        await writer.stop()
    assert len(failed) == 1 and [[is_new for _, is_new in a] for a in answers] == [[True]] * 4
    assert again[0][1] is True and stored_keys(observer) == {"k0", "k1", "k2", "k3", "k9"}
    assert writer.accepted == 5


async def test_over_http_a_failed_commit_is_a_5xx_for_each_request_and_nothing_is_acknowledged(
        server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import aiohttp

    from gateway.http.keys import WRITER

    engine = server.app[WRITER]._engine
    failures = fail_commits(engine, monkeypatch)

    async def post(http: aiohttp.ClientSession, i: int) -> tuple[int, str]:
        async with http.post(server.url + "/api/v1/leads", json={"name": f"Лид {i}"}, headers={
                **server.headers("operator"), "Idempotency-Key": f"commit-fails-{i}"}) as resp:
            return resp.status, await resp.text()

    async with aiohttp.ClientSession() as http:
        answers = await asyncio.gather(*(post(http, i) for i in range(4)))
        assert failures and all(500 <= status < 600 for status, _ in answers), answers
        assert all('"ok"' not in body for _, body in answers)  # no request was told its lead was taken
        assert stored_keys(engine) == set()
        monkeypatch.undo()
        status, body = await post(http, 0)  # the caller's retry with the same key is stored once
    assert status == 202 and json.loads(body)["duplicate"] is False
    assert stored_keys(engine) == {"commit-fails-0"}


def test_ids_made_together_are_distinct_and_sort_by_time() -> None:
    """A batch's ids take their random digits from one read: still distinct, still in the order they were made."""
    import re

    from gateway.store.event_log import new_event_ids

    ids = new_event_ids(2000)
    assert len(set(ids)) == 2000 and all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert [i[:16] for i in ids] == sorted(i[:16] for i in ids)
    assert len({i[16:] for i in ids}) > 1990  # random digits, not one value or a counter's few
