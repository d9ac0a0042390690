"""A write gate between the edge and the embedded worker process, for SQLite's single writer.

SQLite lets one transaction write at a time and makes the others poll with growing sleeps,
so an acknowledgement could wait tens of milliseconds behind the worker. The gate is an
inter-process lock that the edge takes before each group commit and the worker before each
short processing transaction; the worker steps aside while the edge is waiting, and a
waiter is woken the moment the lock is free instead of polling.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["WriteGate"]


class WriteGate:
    def __init__(self, ctx: BaseContext) -> None:
        self._lock: Any = ctx.Lock()
        self._edge_waiting: Any = ctx.Value("i", 0, lock=True)

    @contextmanager
    def edge(self) -> Iterator[None]:
        """The edge's turn: it has priority."""
        with self._edge_waiting.get_lock():
            self._edge_waiting.value += 1
        try:
            self._lock.acquire()
        finally:
            with self._edge_waiting.get_lock():
                self._edge_waiting.value -= 1
        try:
            yield
        finally:
            self._lock.release()

    @contextmanager
    def worker(self) -> Iterator[None]:
        """The worker's turn: only while the edge is not waiting."""
        while True:
            while self._edge_waiting.value > 0:
                time.sleep(0.0002)
            self._lock.acquire()
            if self._edge_waiting.value == 0:
                break
            self._lock.release()
        try:
            yield
        finally:
            self._lock.release()
