"""The few statements SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_ignore", "insert_ignore_once", "upsert"]


def insert_ignore(conn: Connection, table: Table, conflict: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    return mod.insert(table).on_conflict_do_nothing(index_elements=list(conflict))


_BUILT: dict[tuple[str, str, tuple[str, ...], str | None], Any] = {}


def insert_ignore_once(conn: Connection, table: Table, conflict: Sequence[str], returning: Any = None) -> Any:
    """`insert_ignore` (RETURNING `returning`, when given) built once per dialect, table and conflict, for a
    statement run again and again with its values as parameters: building it each time costs more than the
    insert (its shape and cache key made again)."""
    key = (conn.dialect.name, table.name, tuple(conflict), None if returning is None else str(returning))
    if key not in _BUILT:
        stmt = insert_ignore(conn, table, conflict)
        _BUILT[key] = stmt.returning(returning) if returning is not None else stmt
    return _BUILT[key]


def upsert(conn: Connection, table: Table, conflict: Sequence[str], values: dict[str, Any],
           update: Sequence[str]) -> Any:
    """INSERT ... ON CONFLICT (conflict) DO UPDATE SET <update columns>."""
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=list(conflict), set_={c: stmt.excluded[c] for c in update}
    )
