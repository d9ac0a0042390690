"""The backoff of repeated failed logins to the web page."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["LoginThrottle"]

K = TypeVar("K")


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Backoff after failed logins, per (name, client address) and per client address, in this process's memory.

    The first `free` failures of a name from an address cost nothing; then each attempt must wait 2, 4, 8 ...
    seconds (at most `max_wait`) after the previous failure. A success clears that pair's record. An address
    is counted across every name it tries too, with `address_free` failures free: one address spraying many
    names is slowed down the same way (and a success does not clear it; only `forget_after` quiet seconds do).
    Records of quiet pairs and addresses are forgotten after `forget_after` seconds. Several processes each
    keep their own.
    """

    def __init__(self, clock: Callable[[], float], *, free: int = 3, address_free: int = 20, max_wait: float = 900,
                 forget_after: float = 3600, max_entries: int = 100_000) -> None:
        self._clock, self._free, self._address_free, self._max_wait = clock, free, address_free, max_wait
        self._forget_after, self._max_entries = forget_after, max_entries
        self._seen: dict[tuple[str, str], _Failures] = {}
        self._addresses: dict[str, _Failures] = {}

    def _wait(self, f: _Failures | None, free: int) -> float:
        if f is None:
            return 0.0
        over = f.count - free
        return 0.0 if over < 0 else max(0.0, f.last + min(self._max_wait, math.pow(2, over + 1)) - self._clock())

    def retry_after(self, name: str, address: str) -> float:
        """Seconds to wait before this name from this address may try again (0: now)."""
        return max(self._wait(self._seen.get((name.casefold(), address)), self._free),
                   self._wait(self._addresses.get(address), self._address_free))

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        if len(self._seen) >= self._max_entries or len(self._addresses) >= self._max_entries:
            self._forget(now)
        key = (name.casefold(), address)
        f = self._seen.get(key)
        self._seen[key] = _Failures((f.count if f else 0) + 1, now)
        a = self._addresses.get(address)
        self._addresses[address] = _Failures((a.count if a else 0) + 1, now)

    def succeeded(self, name: str, address: str) -> None:
        self._seen.pop((name.casefold(), address), None)

    def _forget(self, now: float) -> None:
        _forget(self._seen, now, self._forget_after, self._max_entries)
        _forget(self._addresses, now, self._forget_after, self._max_entries)


def _forget(records: dict[K, _Failures], now: float, forget_after: float, max_entries: int) -> None:
    for key in [k for k, f in records.items() if now - f.last > forget_after]:
        del records[key]
    if len(records) >= max_entries:  # still full: drop the oldest half
        for key in sorted(records, key=lambda k: records[k].last)[: max_entries // 2]:
            del records[key]
