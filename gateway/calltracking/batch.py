"""Many small writes in few transactions: requests queue their work, a writer thread runs a batch per commit.

SQLite makes every commit wait for the disk; a site's visitors ask for numbers in bursts. A request's answer is
given once its batch is committed, so no visitor is told of a number that is not stored. If a batch fails, each
of its requests is run again in a transaction of its own, so that one bad request fails alone.
SQLite gets one writer (it has one write lock anyway); PostgreSQL a few, so that its transactions do run at once.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

import structlog
from sqlalchemy import Connection, Engine

from gateway.store.write_queue import take_batch

__all__ = ["WriteBatcher"]

log = structlog.get_logger(__name__)
T = TypeVar("T")
Job = tuple[Callable[[Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _settle(fut: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if fut.done():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(result)


class WriteBatcher:
    def __init__(self, engine: Engine, *, max_batch: int = 200,
                 write_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self.engine, self.max_batch, self.write_turn = engine, max_batch, write_turn
        self.writers = 1 if engine.dialect.name == "sqlite" else 4
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self.writers):
            thread = threading.Thread(target=self._run, name=f"calltracking-writer-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()

    async def run(self, work: Callable[[Connection], T]) -> T:
        """`work(conn)` inside a committed transaction; its result."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((work, fut, loop))
        return await fut

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = take_batch(self._queue, first, lambda taken: len(taken) < self.max_batch)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Job]) -> None:
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            with self.write_turn(), self.engine.begin() as conn:
                outcomes = [(work(conn), None) for work, _, _ in batch]
        except Exception:
            if len(batch) > 1:
                log.warning("calltracking.batch_retry_singly", size=len(batch), exc_info=True)
            outcomes = [self._alone(work) for work, _, _ in batch]
        for (_, fut, loop), (result, error) in zip(batch, outcomes, strict=True):
            loop.call_soon_threadsafe(_settle, fut, result, error)

    def _alone(self, work: Callable[[Connection], Any]) -> tuple[Any, BaseException | None]:
        try:
            with self.write_turn(), self.engine.begin() as conn:
                return work(conn), None
        except Exception as exc:
            return None, exc
