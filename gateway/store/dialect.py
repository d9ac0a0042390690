"""The few statements SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "upsert"]


def insert_ignore(conn: Connection, table: Table, conflict: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing(index_elements=list(conflict))


def upsert(conn: Connection, table: Table, conflict: Sequence[str], values: dict[str, Any],
           update: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (conflict) DO UPDATE SET <update columns>."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
    )
