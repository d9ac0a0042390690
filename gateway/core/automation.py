"""The digital pipeline's rules, without the store: conditions, working hours, loops, round-robin turns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol

__all__ = ["MAX_CHAIN", "Conditions", "DealFacts", "WorkingHours", "loop_of", "next_in_turn", "unmet_condition"]

MAX_CHAIN = 10  # triggers set off by triggers, one after another: more than this is a runaway


class Conditions(Protocol):
    source: list[str]
    channel: list[str]
    tags: list[str]
    budget_at_least: float | None


@dataclass(frozen=True, slots=True)
class DealFacts:
    """What conditions look at: the deal's first lead's source and channel, the deal's tags and budget."""

    source: str | None
    channel: str | None
    tags: Sequence[str]
    budget: float | None


def unmet_condition(when: Conditions, facts: DealFacts) -> tuple[str, str] | None:
    """The first condition that does not hold, as (condition, what was found); None when all hold."""
    if when.source and facts.source not in when.source:
        return "source", facts.source or ""
    if when.channel and facts.channel not in when.channel:
        return "channel", facts.channel or ""
    if when.tags and not set(when.tags) & set(facts.tags):
        return "tags", ", ".join(facts.tags)
    if when.budget_at_least is not None and (facts.budget or 0) < when.budget_at_least:
        return "budget_at_least", "" if facts.budget is None else f"{facts.budget:g}"
    return None


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """A daily window such as 09:00-18:00 (22:00-06:00 crosses midnight), in the company's time zone."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> WorkingHours:
        try:
            a, b = text.split("-")
            start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
        except ValueError:
            raise ValueError(f"working hours look like 09:00-18:00, not {text!r}") from None
        if start == end:
            raise ValueError("working hours: the start and the end are the same")
        return cls(start, end)

    def contains(self, moment: time) -> bool:
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end

    def wait(self, now: datetime) -> timedelta:
        """How long until the window opens (zero inside it); `now` is a wall-clock time in the company's zone."""
        if self.contains(now.time()):
            return timedelta(0)
        opening = now.replace(hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0)
        if opening <= now:
            opening += timedelta(days=1)
        return opening - now


def loop_of(chain: Sequence[str], trigger: str) -> list[str] | None:
    """When `trigger` already set off the chain that leads to it again: the circle it makes."""
    if trigger in chain:
        return [*chain[chain.index(trigger):], trigger]
    if len(chain) >= MAX_CHAIN:
        return [*chain, trigger]
    return None


def next_in_turn(names: Sequence[str], turn: int, active: set[str]) -> str | None:
    """Round-robin: the active name at `turn` (counting from 1), skipping those who are not active."""
    for step in range(len(names)):
        name = names[(turn - 1 + step) % len(names)]
        if name in active:
            return name
    return None
