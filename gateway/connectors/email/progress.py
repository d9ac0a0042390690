"""A progress line on stderr: messages done, rate, time left."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["Progress"]


def _clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Redrawn in place on a terminal (at most 5 times a second), a plain line every 5 s otherwise."""

    def __init__(self, label: str, total: int, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.label, self.total, self.stream, self.clock = label, total, stream, clock
        self.done = 0
        self.started = clock()
        self._last_draw = float("-inf")
        self._tty = bool(getattr(stream, "isatty", lambda: False)())

    def line(self) -> str:
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0.0
        percent = 100 * self.done / self.total if self.total else 100.0
        return (f"{self.label}: {self.done}/{self.total} messages ({percent:.0f}%), "
                f"{rate:.1f} msg/s, {_clock_text(left)} left")

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        now = self.clock()
        if now - self._last_draw >= (0.2 if self._tty else 5.0):
            self._draw()
            self._last_draw = now

    def _draw(self) -> None:
        if self._tty:
            self.stream.write("\r\x1b[K" + self.line())
        else:
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def finish(self) -> None:
        self._draw()
        if self._tty:
            self.stream.write("\n")
        self.stream.flush()
