"""Settings every sink shares (`[[sinks.amocrm]]`, `[[sinks.bitrix24]]`): which leads, how fast, how long."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CHANNELS", "SinkSettings"]

CHANNELS = ("mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual")


class SinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_.-]+$")
    channels: list[str] = Field(default_factory=lambda: list(CHANNELS))  # default: every channel
    pipelines: list[str] = Field(default_factory=list)  # our pipelines whose leads go there; empty: all
    directions: list[str] = Field(default_factory=lambda: ["in"])  # outgoing calls stay here unless named
    include_non_target: bool = False  # spam, auto-replies, short calls: not sent unless asked
    concurrency: int = Field(default=8, ge=1, le=256)  # deliveries in flight per process
    rate_per_second: float | None = Field(default=None, gt=0)  # requests a second per process; None: the sink's own
    delays: list[float] = Field(  # the wait after the 1st, 2nd... failed attempt; then the delivery is dead
        default_factory=lambda: [10, 60, 300, 1800, 3600, 7200, 21600, 43200])
