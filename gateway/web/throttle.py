"""The backoff of repeated failed logins to the web page."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["LoginThrottle"]


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Per (name, client address) backoff after failed logins, kept in this process's memory.

    The first `free` failures cost nothing; then each attempt must wait 2, 4, 8 ... seconds
    (at most `max_wait`) after the previous failure. A success clears the record. Records of
    quiet pairs are forgotten after `forget_after` seconds. Several processes each keep their own.
    """

    def __init__(self, clock: Callable[[], float], *, free: int = 3, max_wait: float = 900,
                 forget_after: float = 3600, max_entries: int = 100_000) -> None:
        self._clock, self._free, self._max_wait = clock, free, max_wait
        self._forget_after, self._max_entries = forget_after, max_entries
        self._seen: dict[tuple[str, str], _Failures] = {}

    def _wait(self, f: _Failures) -> float:
        over = f.count - self._free
        return 0.0 if over < 0 else min(self._max_wait, math.pow(2, over + 1))

    def retry_after(self, name: str, address: str) -> float:
        """Seconds to wait before this pair may try again (0: now)."""
        f = self._seen.get((name.casefold(), address))
        if f is None:
            return 0.0
        return max(0.0, f.last + self._wait(f) - self._clock())

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        if len(self._seen) >= self._max_entries:
            self._forget(now)
        key = (name.casefold(), address)
        f = self._seen.get(key)
        self._seen[key] = _Failures((f.count if f else 0) + 1, now)

    def succeeded(self, name: str, address: str) -> None:
        self._seen.pop((name.casefold(), address), None)

    def _forget(self, now: float) -> None:
        for key in [k for k, f in self._seen.items() if now - f.last > self._forget_after]:
            del self._seen[key]
        if len(self._seen) >= self._max_entries:  # still full: drop the oldest half
            for key in sorted(self._seen, key=lambda k: self._seen[k].last)[: self._max_entries // 2]:
                del self._seen[key]
