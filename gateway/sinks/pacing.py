"""A client-side rate limit: at most `calls` requests in any window of `per` seconds, in this process.

A small margin is added to the window: requests spaced exactly at the limit by our clock can arrive
closer together at the remote (network jitter), and its own window would then see one too many.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

__all__ = ["Pacer"]

MARGIN_S = 0.05


class Pacer:
    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic, margin_s: float = MARGIN_S) -> None:
        self.calls, per = (int(rate), 1.0) if rate >= 1 else (1, 1.0 / rate)
        self.per = per + margin_s
        self._clock = clock
        self._sent: deque[float] = deque()

    def _slot(self) -> float:
        """Reserve the earliest moment a request may go; the caller waits until then."""
        now = self._clock()
        while self._sent and now - self._sent[0] >= self.per:
            self._sent.popleft()
        at = now if len(self._sent) < self.calls else self._sent[-self.calls] + self.per
        self._sent.append(at)
        return at - now

    async def wait(self) -> None:
        delay = self._slot()
        if delay > 0:
            await asyncio.sleep(delay)
