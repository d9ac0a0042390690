"""Group commit: every request waiting to store events shares one transaction.

Handlers call `await writer.store(events)`; a single writer task takes every waiting
request, inserts them all in one transaction on its own thread, and answers each request
only after the commit. Under load, one fsync serves many requests.

A transaction stops taking more requests once it holds `max_rows` events or `max_bytes` of bodies
(a request is never split): a burst of large deliveries becomes several short transactions, so the
store's write lock is never held for long and the other webhooks keep being answered.

The writer keeps one driver connection for its transactions instead of taking one from the pool
each time (the pool's check-out, reset and events were a third of the writer's time). A transaction
that fails on it throws the connection away and is tried once more on a fresh one (a restarted
PostgreSQL); the insert ignores keys already stored, so a second try cannot store an event twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.db import writable

__all__ = ["EventWriter"]

log = structlog.get_logger(__name__)
Item = tuple[Sequence[NewEvent], asyncio.Future[list[tuple[str, bool]]]]


class EventWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 512, max_rows: int = 2000, max_bytes: int = 16 << 20,
                 on_stored: Callable[[int], None] | None = None,
                 write_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._on_stored = on_stored
        self._write_turn = write_turn
        self._queue: asyncio.Queue[Item] = asyncio.Queue()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="event-writer")
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None  # the pool's proxy of the driver connection the writer keeps
        self.accepted = 0
        self.duplicates = 0
        self.accepted_by: dict[str, int] = {}

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="event-writer")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.get_running_loop().run_in_executor(self._thread, self._release)
        self._thread.shutdown(wait=True)

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # back to the pool
            self._conn = None

    async def store(self, events: Sequence[NewEvent]) -> list[tuple[str, bool]]:
        """Store events durably; returns (event id, is new) for each, after the commit."""
        if not events:
            return []
        return await self.submit(events)

    def submit(self, events: Sequence[NewEvent]) -> asyncio.Future[list[tuple[str, bool]]]:
        """`store` without a coroutine: the future is done, with (event id, is new) for each, after the commit."""
        fut: asyncio.Future[list[tuple[str, bool]]] = asyncio.get_running_loop().create_future()
        if events:
            self._queue.put_nowait((events, fut))
        else:
            fut.set_result([])
        return fut

    def _transaction(self, flat: list[NewEvent]) -> list[tuple[str, bool]]:
        if self._conn is None:
            self._conn = writable(self._engine.raw_connection())
        driver = self._conn.driver_connection
        dialect = self._engine.dialect.name
        try:
            if dialect == "sqlite":  # the driver's own transactions are off (see gateway.store.db)
                driver.execute("BEGIN IMMEDIATE")
            stored = event_log.append_to(driver, dialect, flat)
            self._engine.dialect.do_commit(driver)  # sqlite3 commits the transaction BEGIN opened
            return stored
        except BaseException:
            conn, self._conn = self._conn, None
            try:
                conn.invalidate()  # closed, not returned to the pool: its state is unknown
            except Exception:
                log.warning("events.connection_not_closed", exc_info=True)
            raise

    def _write(self, batches: list[Sequence[NewEvent]]) -> list[list[tuple[str, bool]]]:
        flat = [ev for batch in batches for ev in batch]
        with self._write_turn():
            try:
                stored = self._transaction(flat)
            except (DBAPIError, self._engine.dialect.loaded_dbapi.Error):
                log.warning("events.store_retried", events=len(flat), exc_info=True)
                stored = self._transaction(flat)
        out, i = [], 0
        for batch in batches:
            out.append(stored[i:i + len(batch)])
            i += len(batch)
        return out

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            rows, size = len(items[0][0]), sum(len(ev.body) for ev in items[0][0])
            while (len(items) < self._max_batch and rows < self._max_rows and size < self._max_bytes
                   and not self._queue.empty()):
                items.append(self._queue.get_nowait())
                rows += len(items[-1][0])
                size += sum(len(ev.body) for ev in items[-1][0])
            try:
                results = await loop.run_in_executor(self._thread, self._write, [evs for evs, _ in items])
            except Exception as exc:
                log.error("events.store_failed", requests=len(items), exc_info=True)
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            new = 0
            for (evs, fut), result in zip(items, results, strict=True):
                for ev, (_, is_new) in zip(evs, result, strict=True):
                    if is_new:
                        new += 1
                        self.accepted_by[ev.connector] = self.accepted_by.get(ev.connector, 0) + 1
                self.duplicates += sum(1 for _, is_new in result if not is_new)
                if not fut.done():
                    fut.set_result(result)
            self.accepted += new
            if new and self._on_stored:
                self._on_stored(new)
