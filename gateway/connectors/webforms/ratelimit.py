"""A sliding-window rate limit kept in memory: per process, not shared between processes."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """At most `limit` hits per key within `window_s` seconds; `limit <= 0` means no limit.

    Several `gateway serve` processes each keep their own window, so behind a load
    balancer the effective limit is up to `limit` times the number of processes.
    """

    def __init__(self, limit: int, window_s: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._hits: dict[Hashable, deque[float]] = {}

    def hit(self, key: Hashable) -> bool:
        """Count one hit; False when the key is already at its limit (the hit is not counted)."""
        if self.limit <= 0:
            return True
        now = self._clock()
        hits = self._hits.get(key)
        if hits is None:
            if len(self._hits) >= self._max_keys:
                self._prune(now)
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True

    def _prune(self, now: float) -> None:
        for key in [k for k, hits in self._hits.items() if not hits or hits[-1] <= now - self.window_s]:
            del self._hits[key]
        while len(self._hits) >= self._max_keys:  # still full: forget the oldest keys
            del self._hits[next(iter(self._hits))]
