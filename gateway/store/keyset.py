"""Keyset (cursor) pagination of the journal: newest first, or highest score first."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, literal_column, tuple_

from gateway.core.errors import PayloadError
from gateway.store.schema import leads

__all__ = ["SORTS", "Position", "after", "decode_cursor", "encode_cursor", "order", "position_of"]

# The columns a sort orders by, all descending; `id` breaks ties, so every position is unique.
SORTS: dict[str, tuple[Any, ...]] = {
    "received": (leads.c.received_at, leads.c.id),
    "score": (leads.c.score, leads.c.received_at, leads.c.id),
}


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the sort's values of its last row."""

    sort: str
    values: tuple[Any, ...]


def position_of(sort: str, row: dict[str, Any]) -> Position:
    return Position(sort, tuple(row[c.name] for c in SORTS[sort]))


def encode_cursor(pos: Position) -> str:
    parts = [pos.sort]
    for v in pos.values:
        parts.append(v.isoformat() if isinstance(v, datetime) else
                     "" if v is None else str(v))
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> Position:
    """The position a cursor names; a cursor of another sort (or a forged one) is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        parts = raw.split("|")
        if parts[0] not in SORTS:  # the first journal cursors: "<received_at>|<id>"
            parts = ["received", *parts]
        if parts[0] != sort or len(parts) != len(SORTS[sort]) + 1:
            raise ValueError("cursor of another sort")
        values = tuple(_value(col, text) for col, text in zip(SORTS[sort], parts[1:], strict=True))
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError("bad cursor") from exc
    return Position(sort, values)


def _value(col: Any, text: str) -> Any:
    if col.name == "received_at":
        return datetime.fromisoformat(text).astimezone(UTC) if text else None
    return int(text)


def _cols(sort: str, indexed: bool) -> tuple[Any, ...]:
    """The sort's columns; SQLite's unary + keeps a value as it is but stops the planner from using an index."""
    cols = SORTS[sort]
    return cols if indexed else tuple(literal_column(f"+{c.table.name}.{c.name}") for c in cols)


def order(q: Select[Any], sort: str, *, indexed: bool = True) -> Select[Any]:
    """Order by the sort's columns, newest (highest) first (`indexed=False`: SQLite only, sort the matches)."""
    return q.order_by(*(c.desc() for c in _cols(sort, indexed)))


def after(q: Select[Any], pos: Position, *, indexed: bool = True) -> Select[Any]:
    """Only the rows after `pos` in the sort's order (a row-value comparison an index can serve)."""
    values = tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in pos.values)
    return q.where(tuple_(*_cols(pos.sort, indexed)) < tuple_(*values))
