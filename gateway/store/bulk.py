"""Many rows written at once, formatted by the driver instead of SQLAlchemy's processing of each row.

A batch's new leads, contacts and identities are written together. As an executemany through SQLAlchemy, each
row's parameters were processed in Python first (a lead has 50 columns): on PostgreSQL, with psycopg's INSERT
per row, about 100 us of a worker's CPU a lead; on SQLite, two thirds of the insert's time, a sixth of a
worker's. Here each column's bind processing is looked up once per table and set of columns, and applied in
one loop:

- PostgreSQL: COPY, which psycopg formats in C and PostgreSQL reads as one statement. A table written with ON
  CONFLICT DO NOTHING is copied into a temporary table of its shape first (emptied at each commit), then
  inserted from it in one statement, whose row count says how many went in.
- SQLite: multi-row INSERTs on the driver's cursor, as many rows a statement as its limit of parameters allows
  (an executemany, a statement per row, cost SQLite a third more); their row counts are the rows inserted
  (those ON CONFLICT DO NOTHING left out are not counted).

Values are what SQLAlchemy would have written: each column's bind processing for the dialect (JSON as JSON
text, aware times in UTC), a column's Python default where the row does not give it, and NULL where the row
does not give a column without a default (as an INSERT that leaves the column out).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault

__all__ = ["write_rows"]

_Absent = object()  # a column the row does not give and that has no Python default: NULL, not processed
_Plan = list[tuple[str, Any, Callable[[Any], Any] | None]]  # (column, default, bind processor)
_PLANS: dict[tuple[str, str, frozenset[str]], _Plan] = {}
_SQLITE_PARAMETERS = 32_766  # SQLite's limit of parameters a statement (since 3.32)


def _default(column: Column[Any]) -> Any:
    """The column's Python default: a value, or a function of the (absent) context called for each row (a new
    dict or list each time); `_Absent` for none."""
    default = column.default
    if default is None:
        return _Absent
    if isinstance(default, CallableColumnDefault | ScalarElementColumnDefault):
        return default.arg
    raise ValueError(f"{column.name}: a default a bulk write cannot give")


def _plan(conn: Connection, table: Table, given: frozenset[str]) -> _Plan:
    """The columns written: those the rows give and those with a Python default (as SQLAlchemy's INSERT: the
    others, an id from its sequence among them, are left to the database)."""
    key = (conn.dialect.name, table.name, given)
    if key not in _PLANS:
        _PLANS[key] = [(c.name, _default(c), _processor(c, conn)) for c in table.columns
                       if c.name in given or c.default is not None]
    return _PLANS[key]


def _processor(column: Column[Any], conn: Connection) -> Callable[[Any], Any] | None:
    """The column's bind processing for the dialect; for JSON, the values most rows give (none, an empty
    object or list: five of a lead's six JSON columns, as a rule) answered with their text made once."""
    process = column.type._cached_bind_processor(conn.dialect)
    if process is None or not isinstance(column.type, JSON):
        return process
    null, empty_object, empty_list = process(None), process({}), process([])

    def json_text(value: Any) -> Any:
        if value is None:
            return null
        if not value and value.__class__ is dict:
            return empty_object
        if not value and value.__class__ is list:
            return empty_list
        return process(value)

    return json_text


def _quoted(names: Iterable[str]) -> str:
    """Column names as a statement lists them."""
    return ", ".join(f'"{name}"' for name in names)


def _values(plan: _Plan, row: dict[str, Any]) -> list[Any]:
    out: list[Any] = []
    for name, default, process in plan:
        if name in row:
            value = row[name]
        elif default is _Absent:  # another row gives this column, this one does not: NULL, as if left out
            out.append(None)
            continue
        else:
            value = default(None) if callable(default) else default
        out.append(value if process is None else process(value))  # JSON's None too: `null`, as SQLAlchemy writes
    return out


def write_rows(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
               conflict: Sequence[str] | None = None) -> int:
    """Write `rows` (dicts by column name) into `table` in the connection's transaction; with `conflict`, the
    rows whose `conflict` columns are taken are left out (ON CONFLICT DO NOTHING). Returns how many went in."""
    if not rows:
        return 0
    plan = _plan(conn, table, frozenset().union(*rows))
    names = _quoted(name for name, _, _ in plan)
    if conn.dialect.name == "postgresql":
        return _copy(conn, table, plan, names, rows, conflict)
    return _insert_sqlite(conn, table, plan, names, rows, conflict)


def _insert_sqlite(conn: Connection, table: Table, plan: _Plan, names: str, rows: Sequence[dict[str, Any]],
                   conflict: Sequence[str] | None) -> int:
    """SQLite: multi-row INSERTs on the driver's cursor; how many rows went in."""
    row_marks = f"({', '.join('?' * len(plan))})"
    on_conflict = f" ON CONFLICT ({_quoted(conflict)}) DO NOTHING" if conflict else ""
    per_statement = max(1, _SQLITE_PARAMETERS // len(plan))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    written = 0
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start:start + per_statement]
            cursor.execute(f'INSERT INTO "{table.name}" ({names}) VALUES {", ".join([row_marks] * len(chunk))}'
                           f"{on_conflict}", [v for row in chunk for v in _values(plan, row)])
            written += cursor.rowcount
        return written
    finally:
        cursor.close()


def _copy(conn: Connection, table: Table, plan: _Plan, names: str, rows: Sequence[dict[str, Any]],
          conflict: Sequence[str] | None) -> int:
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
        # moved out of the temporary table, so that the next COPY of this transaction starts from empty
        cursor.execute(f'WITH moved AS (DELETE FROM "{target}" RETURNING {names}) '
                       f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM moved '
                       f"ON CONFLICT ({_quoted(conflict)}) DO NOTHING")
        return int(cursor.rowcount)
    finally:
        cursor.close()
