"""The live stream's poller on a real SQLite store: nudges make reads, but a storm of them makes few; a change
stamped before the short window of a nudged read still comes, once, with the next read of the whole window."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert

from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.schema import leads
from gateway.web.live import LiveHub
from tests.conftest import make_settings, until


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Database, list[str]]]:
    """The store, and every statement that reads the leads (one for each read of the poller: no leads yet)."""
    settings = make_settings(tmp_path)
    engine = make_engine(settings.database_url)
    bootstrap(engine, settings)
    reads: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        if "FROM leads" in statement:
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", seen)
    db = Database(engine)
    yield db, reads
    db.close()
    engine.dispose()


async def _quiet(reads: list[str]) -> int:
    """How many reads there were once they stop (the poll is 30 s away)."""
    count = -1
    while count != len(reads):
        count = len(reads)
        await asyncio.sleep(0.3)
    return count


async def test_a_storm_of_nudges_makes_one_or_two_reads(store: tuple[Database, list[str]]) -> None:
    db, reads = store
    hub = LiveHub(interval=30)
    hub.subscribe(db)
    try:
        await until(lambda: asyncio.sleep(0, result=reads))  # the first read, when the listener came
        before = await _quiet(reads)
        for _ in range(20):
            for _ in range(50):
                hub.nudge()
            await asyncio.sleep(0)  # the poller's read runs in a thread meanwhile, and more nudges come
        assert 1 <= await _quiet(reads) - before <= 2  # one read, and one more for nudges during it
    finally:
        await hub.close()


async def test_a_steady_drizzle_of_nudges_is_read_at_most_once_per_spacing(store: tuple[Database, list[str]]) -> None:
    db, reads = store
    hub = LiveHub(interval=30, spacing=0.05)
    hub.subscribe(db)
    try:
        await until(lambda: asyncio.sleep(0, result=reads))
        before = await _quiet(reads)
        started = time.monotonic()
        for _ in range(300):
            hub.nudge()
            await asyncio.sleep(0.001)
        elapsed = time.monotonic() - started
        made = await _quiet(reads) - before
        assert 2 <= made <= elapsed / hub.spacing + 2  # 300 nudges: reads spaced out, the last nudge read too
    finally:
        await hub.close()


def _store_lead(engine: Engine, key: str, stamped: datetime) -> int:
    """A lead as a worker's transaction leaves it, stamped when that transaction began."""
    with engine.begin() as conn:
        return int(conn.execute(insert(leads).values(
            key=key, channel="manual", kind="form", direction="in", status="unsorted", quality="unverified",
            advertising=False, received_at=stamped, created_at=stamped, updated_at=stamped)).inserted_primary_key[0])


async def test_a_late_commit_behind_the_nudged_window_comes_once_with_the_whole_window(
        store: tuple[Database, list[str]]) -> None:
    db, _ = store
    hub = LiveHub(interval=0.5, recent=timedelta(seconds=2))
    queue = hub.subscribe(db)
    got: list[int] = []

    async def until_sent(lead_id: int) -> None:
        while lead_id not in got:
            got.extend(change["id"] for change in await queue.get() or [])

    try:
        now = datetime.now(UTC)
        first = await asyncio.to_thread(_store_lead, db.engine, "first", now)
        hub.nudge()
        await asyncio.wait_for(until_sent(first), timeout=10)
        late = await asyncio.to_thread(_store_lead, db.engine, "late", now - timedelta(seconds=10))
        hub.nudge()  # read at once, but only 2 s behind the mark: the late one waits for the whole window
        await asyncio.wait_for(until_sent(late), timeout=10)
        await asyncio.sleep(1.2)  # two more reads of the whole window
        while not queue.empty():
            got.extend(change["id"] for change in queue.get_nowait() or [])
        assert got == [first, late]
    finally:
        await hub.close()
