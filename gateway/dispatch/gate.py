"""A write gate between the edge and the embedded worker process, for SQLite's single writer.

SQLite lets one transaction write at a time and makes the others poll with growing sleeps,
so an acknowledgement could wait tens of milliseconds behind the worker. The gate is an
inter-process lock that the edge takes before each group commit and the worker before each
short processing transaction; the worker steps aside while the edge is waiting, and a
waiter is woken the moment the lock is free instead of polling. The gate only orders writers:
a side that waits longer than its patience (a worker killed while holding it) goes ahead, and
SQLite's own lock keeps the writes apart.

Under overload (from a group commit of the edge holding `BUSY_REQUESTS` requests or more, acknowledgements
queuing, until one holds `CALM_REQUESTS` or fewer) the worker also waits `overload_pause_s` before each of
its turns, so that the edge commits several times between two of them; processing goes on, slower, and at
full speed once the edge keeps up.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.context import BaseContext
from typing import Any

__all__ = ["BUSY_REQUESTS", "CALM_REQUESTS", "WriteGate"]

BUSY_REQUESTS = 32  # requests in one group commit of the edge: acknowledgements are queuing
CALM_REQUESTS = 4  # ... and this few (or none waiting): the edge keeps up again


class WriteGate:
    def __init__(self, ctx: BaseContext, patience_s: float = 2.0, overload_pause_s: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._lock: Any = ctx.Lock()
        self._edge_waiting: Any = ctx.Value("i", 0, lock=True)
        self._edge_busy: Any = ctx.Value("i", 0, lock=False)  # one writer: the edge's writer thread
        self._patience_s = patience_s
        self._overload_pause_s = overload_pause_s
        self._sleep = sleep

    def edge_load(self, requests: int) -> None:
        """The edge's next group commit holds `requests` requests (0: it has none waiting). Between the two
        marks the state stays as it was: at saturation commits alternate between large and middling ones."""
        if requests >= BUSY_REQUESTS:
            self._edge_busy.value = 1
        elif requests <= CALM_REQUESTS:
            self._edge_busy.value = 0

    def edge_overloaded(self) -> bool:
        return bool(self._edge_busy.value)

    @contextmanager
    def edge(self) -> Iterator[None]:
        """The edge's turn: it has priority."""
        with self._edge_waiting.get_lock():
            self._edge_waiting.value += 1
        try:
            held = self._lock.acquire(timeout=self._patience_s)
        finally:
            with self._edge_waiting.get_lock():
                self._edge_waiting.value -= 1
        try:
            yield  # without the gate (a worker died holding it), SQLite's own lock still keeps writes apart
        finally:
            if held:
                self._lock.release()

    def edge_waiting(self) -> bool:
        """Whether the edge waits for the gate now (the worker's transaction should end soon)."""
        return bool(self._edge_waiting.value > 0)

    @contextmanager
    def worker(self) -> Iterator[None]:
        """The worker's turn: only while the edge is not waiting (and after a pause while it is overloaded)."""
        if self._overload_pause_s and self._edge_busy.value:
            self._sleep(self._overload_pause_s)
        held = False
        deadline = time.monotonic() + self._patience_s
        while time.monotonic() < deadline:
            while self._edge_waiting.value > 0 and time.monotonic() < deadline:
                time.sleep(0.0002)
            held = self._lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
            if not held or self._edge_waiting.value == 0:
                break
            self._lock.release()
            held = False
        try:
            yield
        finally:
            if held:
                self._lock.release()
