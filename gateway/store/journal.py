"""The lead journal: filters, newest (or best scored) first, keyset (cursor) pagination."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import Any, Literal

from pydantic import Field, field_validator
from sqlalchemy import Connection, Select, and_, func, literal_column, select, union_all

from gateway.core.models import Channel, Direction, Kind, LeadStatus, Quality
from gateway.store.journal_terms import PROBE, Probed, plain, terms
from gateway.store.keyset import SORTS, after, decode_cursor, encode_cursor, order, position_of
from gateway.store.query_filters import QueryFilters
from gateway.store.schema import leads

__all__ = ["JournalFilters", "count_leads", "iter_lead_pages", "journal_query", "list_leads"]

_KNOWN: dict[str, set[str]] = {
    "channel": {c.value for c in Channel}, "kind": {k.value for k in Kind},
    "direction": {d.value for d in Direction}, "status": {s.value for s in LeadStatus},
    "quality": {q.value for q in Quality} | {"unsorted"},
}


class JournalFilters(QueryFilters):
    """Query parameters of `GET /api/v1/leads` (and of the export and the reports)."""

    from_: date | datetime | None = Field(default=None, alias="from")
    to: date | datetime | None = None
    by: Literal["received", "taken"] = "received"  # which day the period means
    channel: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    quality: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    source_group: list[str] = Field(default_factory=list)
    manager: list[str] = Field(default_factory=list)
    department: list[str] = Field(default_factory=list)
    include_dismissed: bool = False
    direction: list[str] = Field(default_factory=list)
    pipeline: list[str] = Field(default_factory=list)
    stage: list[str] = Field(default_factory=list)
    tag: list[str] = Field(default_factory=list)
    advertising: bool | None = None
    needs_callback: bool | None = None
    contact_id: int | None = None
    visible_to: int | None = Field(default=None, exclude=True)  # an operator's id: Unsorted and their own leads
    q: str | None = Field(default=None, max_length=200)
    sort: Literal["received", "score"] = "received"
    manager_mode: Literal["taken", "responsible"] = "taken"

    @field_validator("channel", "kind", "quality", "status", "direction")
    @classmethod
    def _known(cls, values: list[str], info: Any) -> list[str]:
        unknown = sorted(set(values) - _KNOWN[info.field_name])
        if unknown:
            raise ValueError(f"{info.field_name}: unknown value {unknown[0]!r}")
        return values

    @classmethod
    def from_query(cls, query: Mapping[str, str] | Any, settings: Any = None) -> JournalFilters:
        """Filters from query parameters (repeated or comma-separated); settings give defaults and the time zone."""
        data = cls.query_data(query)
        if not data.get("manager_mode"):
            data.pop("manager_mode", None)
            if settings is not None:
                data["manager_mode"] = settings.access.journal_manager
        return cls.validated(data, settings)

    def with_tz(self, tz: tzinfo) -> JournalFilters:
        copy = self.model_copy()
        copy._tz = tz
        return copy


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
    n = literal_column(str(int(limit)))  # SQLite plans a bound LIMIT as if it were unbounded
    branches = []
    for conds in terms(f, conn).branches():
        resolved, in_order = _resolve(conn, conds, probe)
        # SQLite's planner may still prefer the sort's index over a sparse term's: hide the former then.
        indexed = in_order or conn.dialect.name != "sqlite"
        q = select(*columns).where(and_(*resolved)) if resolved else select(*columns)
        branches.append(order(after(q, pos, indexed=indexed) if pos else q, f.sort, indexed=indexed).limit(n))
    if len(branches) == 1:
        return branches[0]
    merged = union_all(*(select(b.subquery().c) for b in branches)).subquery("page")
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
