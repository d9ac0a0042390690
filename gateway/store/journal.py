"""The lead journal: filters, newest (or best scored) first, keyset (cursor) pagination."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Select, and_, func, literal_column, select, union_all
from sqlalchemy.sql.elements import ColumnClause

from gateway.store.journal_filters import JournalFilters
from gateway.store.journal_terms import PROBE, Probed, plain, terms
from gateway.store.keyset import SORTS, after, decode_cursor, encode_cursor, order, position_of
from gateway.store.schema import leads

__all__ = ["JournalFilters", "count_leads", "iter_lead_pages", "journal_query", "list_leads"]


def journal_query(f: JournalFilters, conn: Connection, *, columns: tuple[Any, ...] = ()) -> Select[Any]:
    """The filtered journal (not yet ordered or limited)."""
    q = select(*columns) if columns else select(leads)
    conds = terms(f, conn).combined()
    return q.where(and_(*conds)) if conds else q


def _resolve(conn: Connection, conds: list[Any], probe: int) -> tuple[list[Any], bool]:
    """SQLite: drive a branch by its sparsest indexed term (under `probe` rows), or walk the sort's order.

    Returns the conditions and whether the branch walks the sort's order. PostgreSQL's planner keeps
    per-value statistics and chooses well by itself: there every term is left as it is.
    """
    if conn.dialect.name != "sqlite":
        return [plain(c) for c in conds], True
    best: Probed | None = None
    fewest = probe
    for c in conds:
        if isinstance(c, Probed):
            sample = (c.sample if c.sample is not None else select(leads.c.id).where(c.indexed)).limit(probe).subquery()
            n = conn.execute(select(func.count()).select_from(sample)).scalar_one()
            if n < fewest:
                best, fewest = c, n
    out = [(c.indexed if c is best else c.scan) if isinstance(c, Probed) else c for c in conds]
    return out, best is None


def _page_query(conn: Connection, f: JournalFilters, limit: int, cursor: str | None, probe: int,
                columns: Sequence[Any]) -> Select[Any]:
    pos = decode_cursor(cursor, f.sort) if cursor else None
    n: ColumnClause[int] = literal_column(str(int(limit)))  # SQLite plans a bound LIMIT as if it were unbounded
    branches = []
    for conds in terms(f, conn).branches():
        resolved, in_order = _resolve(conn, conds, probe)
        # SQLite's planner may still prefer the sort's index over a sparse term's: hide the former then.
        indexed = in_order or conn.dialect.name != "sqlite"
        q = select(*columns).where(and_(*resolved)) if resolved else select(*columns)
        branches.append(order(after(q, pos, indexed=indexed) if pos else q, f.sort, indexed=indexed).limit(n))
    if len(branches) == 1:
        return branches[0]
    merged = union_all(*(select(*b.subquery().c) for b in branches)).subquery("page")
    return select(merged).order_by(*(merged.c[c.name].desc() for c in SORTS[f.sort])).limit(n)


def list_leads(conn: Connection, f: JournalFilters, *, limit: int, cursor: str | None, probe: int = PROBE,
               columns: Sequence[Any] = ()) -> tuple[list[dict[str, Any]], str | None]:
    """One page of lead rows in the filter's sort, and the cursor of the next page (None at the end).

    `probe`: a term with its own index is used through it when it matches fewer rows than this.
    `columns`: only these columns of `leads` (the sort's are added), instead of all.
    """
    names = {c.name for c in columns}
    cols = [*columns, *(c for c in SORTS[f.sort] if c.name not in names)] if columns else list(leads.c)
    rows = [dict(r) for r in conn.execute(_page_query(conn, f, limit + 1, cursor, probe, cols)).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(position_of(f.sort, rows[-1]))
    return rows, next_cursor


def count_leads(conn: Connection, f: JournalFilters) -> int:
    """How many leads match (a sum over the disjoint branches, so each can use its index)."""
    total = 0
    for conds in terms(f, conn).branches():
        q = select(func.count()).select_from(leads)
        total += int(conn.execute(q.where(and_(*(plain(c) for c in conds))) if conds else q).scalar_one())
    return total


def iter_lead_pages(connect: Any, f: JournalFilters, *, page: int = 1000, cursor: str | None = None,
                    columns: Sequence[Any] = ()) -> Iterator[tuple[Connection, list[dict[str, Any]]]]:
    """Every matching lead, page by page, each page read in its own short transaction.

    `connect()` returns a context manager giving a Connection (e.g. `engine.connect`); the
    caller turns the rows into what it needs while the connection is still open.
    """
    while True:
        with connect() as conn:
            rows, cursor = list_leads(conn, f, limit=page, cursor=cursor, columns=columns)
            if rows:
                yield conn, rows
        if cursor is None or not rows:
            return
