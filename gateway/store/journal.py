"""The lead journal: filters, newest (or best scored) first, keyset (cursor) pagination."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator
from sqlalchemy import Connection, Select, String, and_, cast, func, or_, select

from gateway.core.errors import PayloadError
from gateway.core.models import Channel, Direction, Kind, LeadStatus, Quality
from gateway.core.normalise import normalise_email, normalise_phone
from gateway.store.keyset import after, decode_cursor, encode_cursor, order, position_of
from gateway.store.schema import deals, leads, pipelines, sources, stages, users

__all__ = ["JournalFilters", "count_leads", "iter_lead_pages", "journal_query", "list_leads"]

_KNOWN: dict[str, set[str]] = {
    "channel": {c.value for c in Channel}, "kind": {k.value for k in Kind},
    "direction": {d.value for d in Direction}, "status": {s.value for s in LeadStatus},
    "quality": {q.value for q in Quality} | {"unsorted"},
}


class JournalFilters(BaseModel):
    """Query parameters of `GET /api/v1/leads` (and of the export and the reports)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

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
    q: str | None = Field(default=None, max_length=200)
    sort: Literal["received", "score"] = "received"
    manager_mode: Literal["taken", "responsible"] = "taken"
    _tz: tzinfo = PrivateAttr(default=UTC)

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
        data: dict[str, Any] = {}
        multi = {n for n, f in cls.model_fields.items() if f.annotation == list[str]}
        for key in set(query.keys()):
            values = query.getall(key) if hasattr(query, "getall") else [query[key]]
            if key in multi:
                data[key] = [v.strip() for raw in values for v in str(raw).split(",") if v.strip()]
            elif key != "manager_mode" or values[-1]:
                data[key] = values[-1]
        if settings is not None and not data.get("manager_mode"):
            data["manager_mode"] = settings.access.journal_manager
        try:
            f = cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise PayloadError(f"bad filter {where}: {err['msg'].removeprefix('Value error, ')}") from None
        if settings is not None:
            f._tz = ZoneInfo(settings.timezone)
        return f

    @property
    def tz(self) -> tzinfo:
        return self._tz

    def with_tz(self, tz: tzinfo) -> JournalFilters:
        copy = self.model_copy()
        copy._tz = tz
        return copy


def _bound(value: date | datetime, tz: tzinfo, end: bool) -> datetime:
    """A period bound in UTC: dates are whole days in the company's time zone, `to` inclusive."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _people(f: JournalFilters) -> Select[Any]:
    """The users a manager/department filter names (the dismissed ones only on request)."""
    q = select(users.c.id)
    if f.manager:
        q = q.where(users.c.name.in_(f.manager))
    if f.department:
        q = q.where(users.c.department.in_(f.department))
    if not f.include_dismissed:
        q = q.where(users.c.disabled.is_(False))
    return q


def _shown_manager_in(people: Select[Any], mode: str) -> Any:
    """The manager the journal shows is one of `people` (taken: who took it, else the deal's responsible)."""
    responsible_deals = select(deals.c.id).where(deals.c.responsible_id.in_(people))
    if mode == "taken":
        return or_(leads.c.manager_id.in_(people),
                   and_(leads.c.manager_id.is_(None), leads.c.deal_id.in_(responsible_deals)))
    ownerless = or_(leads.c.deal_id.is_(None),
                    leads.c.deal_id.in_(select(deals.c.id).where(deals.c.responsible_id.is_(None))))
    return or_(leads.c.deal_id.in_(responsible_deals), and_(leads.c.manager_id.in_(people), ownerless))


def _in_stages(f: JournalFilters) -> Any:
    """The stage the journal shows (the deal's, else the lead's own) is among the named ones."""
    chosen = select(stages.c.id)
    if f.pipeline:
        chosen = chosen.where(stages.c.pipeline_id.in_(select(pipelines.c.id).where(pipelines.c.name.in_(f.pipeline))))
    if f.stage:
        chosen = chosen.where(stages.c.name.in_(f.stage))
    return or_(and_(leads.c.deal_id.is_(None), leads.c.stage_id.in_(chosen)),
               leads.c.deal_id.in_(select(deals.c.id).where(deals.c.stage_id.in_(chosen))))


def _json_has(col: Any, value: str) -> Any:
    """A JSON list column holds `value` (matched on its serialised form, on both databases)."""
    needle = json.dumps(value).replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return cast(col, String).like(f"%{needle}%", escape="!")


def _tagged(tags: list[str]) -> Any:
    tagged_deals = select(deals.c.id).where(or_(*(_json_has(deals.c.tags, t) for t in tags)))
    return or_(*(_json_has(leads.c.tags, t) for t in tags), leads.c.deal_id.in_(tagged_deals))


def _text_search(q: str, dialect: str) -> Any:
    """Free text: a whole phone number or e-mail by equality (indexed); otherwise a substring anywhere."""
    q = q.strip()
    if not q:
        return None
    phone = normalise_phone(q) if sum(ch.isdigit() for ch in q) >= 10 and "@" not in q else None
    if phone:
        return leads.c.phone == phone
    email = normalise_email(q) if "@" in q else None
    if email and "." in email.rsplit("@", 1)[-1]:
        return leads.c.email == email
    escaped = q.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    cols = (leads.c.name, leads.c.email, leads.c.subject, leads.c.text, leads.c.company)
    if dialect == "postgresql":
        conds = [c.ilike(f"%{escaped}%", escape="!") for c in cols]
    else:  # SQLite folds ASCII only: try the usual spellings of other alphabets
        spellings = {escaped, escaped.lower(), escaped.upper(), escaped.capitalize(), escaped.title()}
        conds = [c.like(f"%{s}%", escape="!") for c in cols for s in sorted(spellings)]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3:
        conds.append(leads.c.phone.like(f"%{digits}%"))
    return or_(*conds)


def _conditions(f: JournalFilters, dialect: str) -> list[Any]:
    conds: list[Any] = []
    period = leads.c.received_at if f.by == "received" else leads.c.taken_at
    if f.from_ is not None:
        conds.append(period >= _bound(f.from_, f.tz, end=False))
    if f.to is not None:
        conds.append(period < _bound(f.to, f.tz, end=True))
    for col, values in ((leads.c.channel, f.channel), (leads.c.kind, f.kind), (leads.c.status, f.status),
                        (leads.c.direction, f.direction)):
        if values:
            conds.append(col.in_(values))
    if f.quality:  # "unsorted" among the qualities means the leads still waiting in Unsorted
        plain = [v for v in f.quality if v != "unsorted"]
        conds.append(or_(leads.c.quality.in_(plain), leads.c.status == "unsorted") if "unsorted" in f.quality
                     else leads.c.quality.in_(plain))
    if f.source:
        conds.append(leads.c.source_id.in_(select(sources.c.id).where(sources.c.name.in_(f.source))))
    if f.source_group:
        conds.append(leads.c.source_id.in_(select(sources.c.id).where(sources.c.group_name.in_(f.source_group))))
    if f.manager or f.department:
        conds.append(_shown_manager_in(_people(f), f.manager_mode))
    if f.pipeline or f.stage:
        conds.append(_in_stages(f))
    if f.advertising is not None:
        conds.append(leads.c.advertising.is_(f.advertising))
    if f.needs_callback is not None:
        conds.append(leads.c.needs_callback.is_(f.needs_callback))
    if f.contact_id is not None:
        conds.append(leads.c.contact_id == f.contact_id)
    if f.tag:
        conds.append(_tagged(f.tag))
    if f.q and (text_cond := _text_search(f.q, dialect)) is not None:
        conds.append(text_cond)
    return conds


def journal_query(f: JournalFilters, *, dialect: str = "sqlite", columns: tuple[Any, ...] = ()) -> Select[Any]:
    """The filtered journal (not yet ordered or limited)."""
    q = select(*columns) if columns else select(leads)
    conds = _conditions(f, dialect)
    return q.where(and_(*conds)) if conds else q


def list_leads(conn: Connection, f: JournalFilters, *, limit: int, cursor: str | None
               ) -> tuple[list[dict[str, Any]], str | None]:
    """One page of lead rows in the filter's sort, and the cursor of the next page (None at the end)."""
    q = journal_query(f, dialect=conn.dialect.name)
    if cursor:
        q = after(q, decode_cursor(cursor, f.sort))
    rows = [dict(r) for r in conn.execute(order(q, f.sort).limit(limit + 1)).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(position_of(f.sort, rows[-1]))
    return rows, next_cursor


def count_leads(conn: Connection, f: JournalFilters) -> int:
    q = journal_query(f, dialect=conn.dialect.name, columns=(func.count(),))
    return int(conn.execute(q.select_from(leads)).scalar_one())


def iter_lead_pages(connect: Any, f: JournalFilters, *, page: int = 1000,
                    cursor: str | None = None) -> Iterator[tuple[Connection, list[dict[str, Any]]]]:
    """Every matching lead, page by page, each page read in its own short transaction.

    `connect()` returns a context manager giving a Connection (e.g. `engine.connect`); the
    caller turns the rows into what it needs while the connection is still open.
    """
    while True:
        with connect() as conn:
            rows, cursor = list_leads(conn, f, limit=page, cursor=cursor)
            if rows:
                yield conn, rows
        if cursor is None or not rows:
            return
