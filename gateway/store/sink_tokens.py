"""OAuth tokens of sinks, kept in the store so that every process uses the one refreshed last."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, select, update

from gateway.store.dialect import insert_ignore
from gateway.store.schema import sink_tokens

__all__ = ["TokenPair", "load_tokens", "save_tokens"]


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime


def load_tokens(conn: Connection, sink: str) -> TokenPair | None:
    row = conn.execute(select(sink_tokens).where(sink_tokens.c.sink == sink)).mappings().first()
    if row is None:
        return None
    expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=UTC)  # SQLite
    return TokenPair(row["access_token"], row["refresh_token"], expires)


def save_tokens(conn: Connection, sink: str, pair: TokenPair, *, replaces: str | None, now: datetime) -> bool:
    """Store a refreshed pair, only over the refresh token it was made from (or as the first one).

    False when another process refreshed meanwhile: its pair stays, and the caller reads it.
    """
    values = dict(access_token=pair.access_token, refresh_token=pair.refresh_token, expires_at=pair.expires_at,
                  updated_at=now)
    if replaces is None:
        res = conn.execute(insert_ignore(conn, sink_tokens, ["sink"]).values(sink=sink, **values))
    else:
        res = conn.execute(update(sink_tokens).where(sink_tokens.c.sink == sink,
                                                     sink_tokens.c.refresh_token == replaces).values(**values))
    return bool(res.rowcount == 1)
