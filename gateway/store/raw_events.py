"""Raw events as the event log holds them: a `NewEvent` to store, a `StoredEvent` read back.

Connectors see these through `gateway.connectors.base`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["KEY_LENGTH", "NewEvent", "StoredEvent", "bounded_key"]

KEY_LENGTH = 512  # the event log's key and group_key columns


def bounded_key(key: str) -> str:
    """`key` itself when it fits the column, else its head and a hash of the whole: the same text gives the same
    key, so a redelivered event with a provider's overlong id is still a duplicate, and no batch fails on it."""
    if len(key) <= KEY_LENGTH:
        return key
    return f"{key[:64]}:sha256:{hashlib.sha256(key.encode('utf-8', 'surrogatepass')).hexdigest()}"


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", bounded_key(self.key))
        if self.group_key is not None:
            object.__setattr__(self, "group_key", bounded_key(self.group_key))


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
