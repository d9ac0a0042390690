"""Where a sink keeps the OAuth tokens it refreshed: the store, shared by every process."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from gateway.store.database import Database
from gateway.store.sink_tokens import TokenPair, load_tokens, save_tokens

__all__ = ["StoredTokens", "TokenKeeper", "TokenPair"]


class TokenKeeper(Protocol):
    async def load(self) -> TokenPair | None: ...

    async def save(self, pair: TokenPair, *, replaces: str | None) -> bool: ...


class StoredTokens:
    """The `sink_tokens` row of one sink."""

    def __init__(self, db: Database, sink: str) -> None:
        self.db, self.sink = db, sink

    async def load(self) -> TokenPair | None:
        return await self.db.read(load_tokens, self.sink)

    async def save(self, pair: TokenPair, *, replaces: str | None) -> bool:
        return await self.db.write(save_tokens, self.sink, pair, replaces=replaces, now=datetime.now(UTC))
