"""Taking a batch off a writer thread's queue: the first item, then whatever else waits, until a limit or a stop."""

from __future__ import annotations

import queue
from collections.abc import Callable
from typing import TypeVar

__all__ = ["take_batch"]

T = TypeVar("T")


def take_batch(waiting: queue.SimpleQueue[T | None], first: T,
               more: Callable[[list[T]], bool]) -> tuple[list[T], bool]:
    """`first` and the items waiting on `waiting`, taken while `more(batch)` (asked after each item); and whether
    the stop (None) was met, which ends the batch."""
    batch = [first]
    while more(batch):
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            break
        if item is None:
            return batch, True
        batch.append(item)
    return batch, False
