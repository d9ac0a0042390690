"""Raw events as the event log holds them: a `NewEvent` to store, a `StoredEvent` read back.

Connectors see these through `gateway.connectors.base`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["NewEvent", "StoredEvent"]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """A raw event to store. `(connector, account, key)` is unique: a duplicate is ignored."""

    connector: str
    account: str
    key: str
    body: bytes
    received_at: datetime
    name: str | None = None  # provider event name ("call", "summary", "record/added", "message")
    group_key: str | None = None  # events folded together (a Mango entry_id, a chat)
    headers: Mapping[str, str] = field(default_factory=dict)
    not_before: datetime | None = None  # a follow-up task that must wait


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    connector: str
    account: str
    key: str
    name: str | None
    group_key: str | None
    received_at: datetime
    headers: Mapping[str, str]
    body: bytes
    attempts: int = 0
    result: Mapping[str, Any] | None = None
