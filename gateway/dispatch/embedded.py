"""Dispatchers: the in-process loop (embedded default) and the rq one (with Redis)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import structlog

from gateway.dispatch.processor import BatchReport, Processor
from gateway.store.event_log import worker_id

__all__ = ["Dispatcher", "EmbeddedDispatcher"]

log = structlog.get_logger(__name__)


class Dispatcher(Protocol):
    def wake(self, n: int = 1) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class EmbeddedDispatcher:
    """An asyncio task that claims and processes batches in a worker thread until nothing is due."""

    def __init__(self, processor: Processor, idle_seconds: float) -> None:
        self.processor = processor
        self.idle_seconds = idle_seconds
        self.owner = worker_id()
        self._wake = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="processor")
        self._task: asyncio.Task[None] | None = None
        self.totals = BatchReport()
        self.listeners: list[asyncio.Queue[list[int]]] = []

    def wake(self, n: int = 1) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="embedded-dispatcher")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                report = await loop.run_in_executor(self._thread, self.processor.run_batch, self.owner)
            except Exception:
                log.exception("dispatch.batch_crashed")
                report = BatchReport()
                await asyncio.sleep(1)
            self._count(report)
            if report.claimed:
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_seconds)
            except TimeoutError:
                pass

    def _count(self, report: BatchReport) -> None:
        t = self.totals
        t.claimed += report.claimed
        t.done += report.done
        t.failed += report.failed
        t.dead += report.dead
        if report.leads:
            for q in self.listeners:
                q.put_nowait(report.leads)
