"""Who may ask for a number: a per-key budget per minute, and bots known by their user agent."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

__all__ = ["MinuteBudget", "is_bot"]

_BOTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|scrap|yandex(?!browser|searchapp)|mediapartners|facebookexternalhit|"
    r"lighthouse|pagespeed|preview|headlesschrome|phantomjs|curl/|wget/|python-|httpclient|okhttp|go-http|"
    r"java/|libwww|monitor|uptime|pingdom|checker",
    re.IGNORECASE,
)


def is_bot(user_agent: str | None) -> bool:
    """A robot by its own account (or with no user agent at all, as no browser sends)."""
    return not user_agent or bool(_BOTS.search(user_agent))


class MinuteBudget:
    """At most `per_minute` requests per key in each clock minute (per process)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_keys: int = 200_000) -> None:
        self.per_minute, self.clock, self.max_keys = per_minute, clock, max_keys
        self._minute = -1
        self._counts: dict[str, int] = {}

    def allow(self, key: str) -> bool:
        minute = int(self.clock() // 60)
        if minute != self._minute or len(self._counts) >= self.max_keys:
            self._minute, self._counts = minute, {}
        used = self._counts.get(key, 0) + 1
        self._counts[key] = used
        return used <= self.per_minute
