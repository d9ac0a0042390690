"""Group commit: every request waiting to store events shares one transaction.

Handlers call `await writer.store(events)` (or `submit`); the writer's thread takes every waiting
request, inserts them all in one transaction, and each request is answered on the event loop only
after the commit. Under load, one fsync serves many requests. The thread goes from one transaction
to the next by itself: the event loop, busy reading requests, is not on the way between two commits
(it was, when a task on the loop handed each batch to the thread: at 64 connections an
acknowledgement waited for the loop as long as for the disk).

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
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import structlog
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.db import writable
from gateway.store.write_queue import take_batch

__all__ = ["EventWriter"]

log = structlog.get_logger(__name__)
Item = tuple[Sequence[NewEvent], asyncio.Future[list[tuple[str, bool]]]]


class EventWriter:
    def __init__(self, engine: Engine, *, max_batch: int = 512, max_rows: int = 2000, max_bytes: int = 16 << 20,
                 on_stored: Callable[[int], None] | None = None,
                 write_turn: Callable[[], AbstractContextManager[None]] = nullcontext,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._on_stored = on_stored
        self._write_turn = write_turn
        self._on_batch = on_batch  # told, on the writer's thread, how many requests each transaction holds (0: idle)
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()  # None: stop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Any = None  # the pool's proxy of the driver connection the writer keeps
        self.accepted = 0
        self.duplicates = 0
        self.accepted_by: dict[str, int] = {}

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._run, name="event-writer", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        """Store what was submitted, answer it, and let the connection go."""
        if self._thread is not None:
            self._queue.put(None)
            await asyncio.to_thread(self._thread.join)
            self._thread = None
            await asyncio.sleep(0)  # the last answers, handed to the loop, are given

    async def store(self, events: Sequence[NewEvent]) -> list[tuple[str, bool]]:
        """Store events durably; returns (event id, is new) for each, after the commit."""
        if not events:
            return []
        return await self.submit(events)

    def submit(self, events: Sequence[NewEvent]) -> asyncio.Future[list[tuple[str, bool]]]:
        """`store` without a coroutine: the future is done, with (event id, is new) for each, after the commit."""
        fut: asyncio.Future[list[tuple[str, bool]]] = asyncio.get_running_loop().create_future()
        if events:
            self._queue.put((events, fut))
        else:
            fut.set_result([])
        return fut

    def _run(self) -> None:
        """The writer's thread: a transaction for whatever waits, then the next, back to back."""
        try:
            while True:
                try:
                    first = self._queue.get_nowait()
                except queue.Empty:
                    if self._on_batch is not None:
                        self._on_batch(0)
                    first = self._queue.get()
                if first is None:
                    return
                items, stop = take_batch(self._queue, first, self._more())
                if self._on_batch is not None:
                    self._on_batch(len(items))
                try:
                    results = self._write([evs for evs, _ in items])
                except Exception as exc:
                    log.error("events.store_failed", requests=len(items), exc_info=True)
                    self._answer(items, None, exc)
                else:
                    self._answer(items, results, None)
                if stop:
                    return
        finally:
            self._release()

    def _more(self) -> Callable[[list[Item]], bool]:
        """Whether a transaction holding these requests takes another (its last one just counted)."""
        rows = size = 0

        def more(items: list[Item]) -> bool:
            nonlocal rows, size
            rows += len(items[-1][0])
            size += sum(len(ev.body) for ev in items[-1][0])
            return len(items) < self._max_batch and rows < self._max_rows and size < self._max_bytes

        return more

    def _answer(self, items: list[Item], results: list[list[tuple[str, bool]]] | None,
                exc: Exception | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._answered, items, results, exc)

    def _answered(self, items: list[Item], results: list[list[tuple[str, bool]]] | None,
                  exc: Exception | None) -> None:
        """On the event loop: each request's answer, and the counters; never a request left waiting."""
        new = 0
        try:
            if results is not None:
                new = self._count(items, results)
        except Exception as bug:
            log.exception("events.answer_failed", requests=len(items))
            results, exc = None, bug
        for n, (_, fut) in enumerate(items):
            if fut.done():
                continue
            if results is None:
                fut.set_exception(exc or RuntimeError("not stored"))
            else:
                fut.set_result(results[n])
        if new and self._on_stored:
            try:
                self._on_stored(new)
            except Exception:  # news for the worker, which polls the store too
                log.warning("events.wake_failed", exc_info=True)

    def _count(self, items: list[Item], results: list[list[tuple[str, bool]]]) -> int:
        """Count the new events and the duplicates; how many were new."""
        new = 0
        for (evs, _), result in zip(items, results, strict=True):
            for ev, (_, is_new) in zip(evs, result, strict=True):
                if is_new:
                    new += 1
                    self.accepted_by[ev.connector] = self.accepted_by.get(ev.connector, 0) + 1
            self.duplicates += sum(1 for _, is_new in result if not is_new)
        self.accepted += new
        return new

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()  # back to the pool
            self._conn = None

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
