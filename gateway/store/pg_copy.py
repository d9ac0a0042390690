"""PostgreSQL: many rows written with COPY, formatted by the driver instead of a statement per row.

A batch's new leads went in as an executemany: psycopg sends one INSERT per row (in one pipeline), and
SQLAlchemy processed each row's parameters first; together about 100 us of a worker's CPU a lead, and
PostgreSQL ran 500 statements. COPY sends the rows as one stream that psycopg formats in C, and PostgreSQL
reads it as one statement. A table written with ON CONFLICT DO NOTHING is copied into a temporary table of
its shape first (emptied at each commit), then inserted from it in one statement, whose row count says how
many went in.

Values are what SQLAlchemy would have written: each column's bind processing for the dialect (JSON as JSON
text, aware times in UTC), and a column's Python default where the row does not give it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Connection, Table
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

__all__ = ["copy_rows"]

_Plan = list[tuple[str, Any, Callable[[Any], Any] | None]]  # (column, default, bind processor)
_PLANS: dict[tuple[str, str, frozenset[str]], _Plan] = {}


def _default(column: Column[Any]) -> Any:
    """The column's Python default: a value, or a function of the (absent) context called for each row (a new
    dict or list each time)."""
    default = column.default
    if default is None:
        return None
    if isinstance(default, CallableColumnDefault | ScalarElementColumnDefault):
        return default.arg
    raise ValueError(f"{column.name}: a default COPY cannot give")


def _plan(conn: Connection, table: Table, given: frozenset[str]) -> _Plan:
    """The columns written: those the rows give and those with a Python default (as SQLAlchemy's INSERT: the
    others, an id from its sequence among them, are left to the database)."""
    key = (conn.dialect.name, table.name, given)
    if key not in _PLANS:
        _PLANS[key] = [(c.name, _default(c), c.type._cached_bind_processor(conn.dialect)) for c in table.columns
                       if c.name in given or c.default is not None]
    return _PLANS[key]


def _values(plan: _Plan, row: dict[str, Any]) -> list[Any]:
    out = []
    for name, default, process in plan:
        value = row[name] if name in row else (default(None) if callable(default) else default)
        out.append(value if process is None else process(value))  # JSON's None too: `null`, as SQLAlchemy writes
    return out


def copy_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
              conflict: Sequence[str] | None = None) -> int:
    """Write `rows` (dicts by column name) into `table` in the connection's transaction; with `conflict`, the
    rows whose `conflict` columns are taken are left out (ON CONFLICT DO NOTHING). Returns how many went in."""
    if not rows:
        return 0
    plan = _plan(conn, table, frozenset().union(*rows))
    names = ", ".join(f'"{name}"' for name, _, _ in plan)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        target = table.name
        if conflict:
            target = f"{table.name}_incoming"
            # the table's columns without its constraints (an id left to the sequence is not given here)
            cursor.execute(f'CREATE TEMPORARY TABLE IF NOT EXISTS "{target}" ON COMMIT DELETE ROWS '
                           f'AS SELECT * FROM "{table.name}" WITH NO DATA')
        with cursor.copy(f'COPY "{target}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(_values(plan, row))
        if not conflict:
            return len(rows)
        keys = ", ".join(f'"{name}"' for name in conflict)
        # moved out of the temporary table, so that the next COPY of this transaction starts from empty
        cursor.execute(f'WITH moved AS (DELETE FROM "{target}" RETURNING {names}) '
                       f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM moved '
                       f"ON CONFLICT ({keys}) DO NOTHING")
        return int(cursor.rowcount)
    finally:
        cursor.close()
