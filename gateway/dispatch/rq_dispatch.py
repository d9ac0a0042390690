"""Dispatch through Redis: enqueue batch jobs off the request path; a sweeper re-dispatches.

The event log is the queue of record. Jobs carry no data: each claims due events from
the store. So a lost job, a flushed Redis or a killed worker only delays work: the sweeper
sees due events with too few queued jobs and enqueues more; expired leases make the
events of a dead worker due again. The workers' news that leads changed comes back on a
Redis channel (changes_channel.py).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import structlog
from redis import Redis
from rq import Queue
from sqlalchemy import Engine

from gateway.config import Settings
from gateway.dispatch.changes_channel import ChangesListener
from gateway.store import event_log

__all__ = ["RqDispatcher", "sweep_once"]

log = structlog.get_logger(__name__)
JOB = "gateway.dispatch.jobs.process_pending"
MAX_QUEUED = 32


def sweep_once(settings: Settings, engine: Engine, redis: Redis) -> int:
    """Enqueue enough jobs for the events that are due; returns how many were enqueued."""
    with engine.connect() as conn:
        due = event_log.due_count(conn, datetime.now(UTC))
    if not due:
        return 0
    queue = Queue(settings.dispatch.queue, connection=redis)
    wanted = min(MAX_QUEUED, math.ceil(due / settings.dispatch.batch_size))
    missing = wanted - queue.count
    if missing <= 0:
        return 0
    queue.enqueue_many([Queue.prepare_data(JOB, timeout=600, result_ttl=60, failure_ttl=3600)
                        for _ in range(missing)])
    return missing


class RqDispatcher:
    """In `gateway serve` with Redis: wakes coalesce into one enqueue in a thread, plus periodic sweeps; the
    workers' news of changed leads goes to `on_leads_changed`."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = Redis.from_url(settings.redis_url or "")
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self.on_leads_changed: list[Callable[[], None]] = []
        self._changes = ChangesListener(settings, self.on_leads_changed)

    def wake(self, n: int = 1) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="rq-dispatcher")
        await self._changes.start()

    async def stop(self) -> None:
        await self._changes.stop()
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.redis.close()

    def _sweep(self) -> int:
        with self._lock:
            return sweep_once(self.settings, self.engine, self.redis)

    async def _run(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self.settings.dispatch.sweep_seconds):  # not wait_for (3.11, a cancel)
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await asyncio.to_thread(self._sweep)
            except Exception:
                log.warning("dispatch.enqueue_failed", exc_info=True)
                await asyncio.sleep(1)
            await asyncio.sleep(0.05)  # coalesce a burst of wakes into one enqueue
