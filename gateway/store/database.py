"""The store seen from the event loop: synchronous repository code run in a thread pool."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Any, TypeVar

from sqlalchemy import Engine

from gateway.store.db import read_only

__all__ = ["Database"]

T = TypeVar("T")


class Database:
    def __init__(self, engine: Engine, threads: int = 8, *,
                 write_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        """`write_turn`: what a write waits for first (embedded SQLite: the edge's side of the write gate, where
        the worker hears it wait and ends its transaction soon, instead of SQLite's busy handler polling)."""
        self.engine = engine
        self.write_turn = write_turn
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="db")

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(conn, ...)` in a transaction that only reads (on SQLite, one that never holds the write lock)."""
        def run() -> T:
            with self.engine.connect() as conn:
                return fn(read_only(conn), *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, run)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def run() -> T:
            with self.write_turn(), self.engine.begin() as conn:
                return fn(conn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, run)

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run any blocking function in the pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
