"""A client-side rate limit: requests evenly spaced, at most `rate` a second, in this process.

Spacing rather than bursts: requests sent in a burst arrive spread out by network and scheduling
jitter, and a remote that counts a sliding one-second window may then see one too many. A small
margin widens each interval for the same reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["Pacer"]

MARGIN = 0.05  # each interval 5 % longer than the limit asks


class Pacer:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic, margin: float = MARGIN) -> None:
        self.interval = (1.0 + margin) / rate
        self._clock = clock
        self._next = 0.0

    def _slot(self) -> float:
        """Reserve the next free moment; how long the caller waits for it."""
        now = self._clock()
        at = max(now, self._next)
        self._next = at + self.interval
        return at - now

    async def wait(self) -> None:
        delay = self._slot()
        if delay > 0:
            await asyncio.sleep(delay)
