"""Two transactions that really overlap on PostgreSQL: the second acts while the first is still open.

A barrier alone does not prove a race: the first thread may commit before the second reads. Here the
first transaction does its work and stays open; the second starts, and the first commits only once
PostgreSQL shows the second waiting on a lock the first holds. So the second's statements ran against
a database where the first's change was made but not committed: check-then-act code fails here.

SQLite cannot run this: `BEGIN IMMEDIATE` makes the second transaction wait before its first read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

__all__ = ["overlapping"]


def _wait_until_blocked(observer: Engine, pid: int, done: threading.Event, within_s: float = 30.0) -> None:
    """Until backend `pid` waits on a lock (or has finished without waiting, which the caller's asserts judge)."""
    deadline = time.monotonic() + within_s
    with observer.connect() as conn:
        while time.monotonic() < deadline and not done.is_set():
            waiting = conn.execute(text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                                   {"pid": pid}).scalar()
            conn.rollback()
            if waiting == "Lock":
                return
            time.sleep(0.01)
    if not done.is_set():
        raise AssertionError(f"backend {pid} neither waited on a lock nor finished within {within_s}s")


def overlapping(engine: Engine, first: Callable[[Connection], Any],
                second: Callable[[Connection], Any]) -> tuple[Any, Any]:
    """Run `first` in a transaction left open, then `second` in another; commit the first once the second waits.

    Each result is the function's return value, or the exception it raised (its transaction rolled back).
    """
    assert engine.dialect.name == "postgresql", "the overlap is observed through pg_stat_activity"
    results: list[Any] = [None, None]
    first_done, second_pid, second_done = threading.Event(), [0], threading.Event()
    pid_known = threading.Event()

    def run_second() -> None:
        first_done.wait()
        try:
            with engine.begin() as conn:
                second_pid[0] = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
                pid_known.set()
                results[1] = second(conn)
        except Exception as exc:
            results[1] = exc
        finally:
            pid_known.set()
            second_done.set()

    thread = threading.Thread(target=run_second, name="second-transaction")
    thread.start()
    try:
        with engine.begin() as conn:
            results[0] = first(conn)
            first_done.set()
            pid_known.wait()
            _wait_until_blocked(engine, second_pid[0], second_done)
    except Exception as exc:
        results[0] = exc
    finally:
        first_done.set()
        thread.join()
    return results[0], results[1]
