"""The group-commit writer keeps each transaction short: a burst of large requests is several commits."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from gateway.connectors.base import NewEvent
from gateway.http.writer import EventWriter
from gateway.store.bootstrap import migrate
from gateway.store.db import make_engine

RECEIVED = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def request(n: int, events: int, body: bytes = b"{}") -> list[NewEvent]:
    return [NewEvent("whatsapp", "main", f"r{n}:{i}", body, RECEIVED, "status") for i in range(events)]


async def burst(tmp_path: Path, requests: list[list[NewEvent]], **limits: int) -> tuple[int, int, list[int]]:
    """Queue every request before the writer starts; returns (commits, rows stored, events answered per request)."""
    engine = make_engine(f"sqlite:///{tmp_path}/gateway.db")
    migrate(engine)
    commits = 0
    real = engine.dialect.do_commit

    def count(dbapi_connection: object) -> None:  # the driver's commits (the writer keeps its own connection)
        nonlocal commits
        commits += 1
        real(dbapi_connection)

    engine.dialect.do_commit = count  # type: ignore[method-assign]  # this test's own engine
    writer = EventWriter(engine, **limits)
    try:
        waiting = [asyncio.ensure_future(writer.store(r)) for r in requests]
        await asyncio.sleep(0)  # every request is in the queue
        await writer.start()
        answers = await asyncio.gather(*waiting)
    finally:
        await writer.stop()
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    engine.dispose()
    return commits, stored, [len(a) for a in answers]


async def test_a_transaction_stops_taking_requests_at_max_rows(tmp_path: Path) -> None:
    commits, stored, answered = await burst(tmp_path, [request(n, 60) for n in range(5)], max_rows=100)
    assert (commits, stored, answered) == (3, 300, [60] * 5)  # 60+60, 60+60, 60: never one request split


async def test_a_transaction_stops_taking_requests_at_max_bytes(tmp_path: Path) -> None:
    big = b"x" * 10_000
    commits, stored, _ = await burst(tmp_path, [request(n, 3, big) for n in range(4)], max_bytes=50_000)
    assert (commits, stored) == (2, 12)  # 30 KB + 30 KB, then the other two


async def test_small_requests_still_share_one_commit(tmp_path: Path) -> None:
    commits, stored, _ = await burst(tmp_path, [request(n, 1) for n in range(50)])
    assert (commits, stored) == (1, 50)
