"""The lead journal: filters, newest first, keyset (cursor) pagination."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, Select, and_, func, or_, select

from gateway.core.errors import PayloadError
from gateway.store.schema import deals, leads, pipelines, sources, stages, users

__all__ = ["JournalFilters", "decode_cursor", "encode_cursor", "journal_query", "list_leads"]


class JournalFilters(BaseModel):
    """Query parameters of `GET /api/v1/leads` (and of the export)."""

    model_config = ConfigDict(extra="ignore")

    from_: date | datetime | None = Field(default=None, alias="from")
    to: date | datetime | None = None
    by: str = "received"  # received | taken: which day the period means
    channel: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    quality: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    source_group: list[str] = Field(default_factory=list)
    manager: list[str] = Field(default_factory=list)
    department: list[str] = Field(default_factory=list)
    direction: list[str] = Field(default_factory=list)
    pipeline: str | None = None
    stage: list[str] = Field(default_factory=list)
    tag: list[str] = Field(default_factory=list)
    advertising: bool | None = None
    needs_callback: bool | None = None
    contact_id: int | None = None
    q: str | None = None

    @field_validator("by")
    @classmethod
    def _by(cls, v: str) -> str:
        if v not in ("received", "taken"):
            raise ValueError("by must be received or taken")
        return v

    @classmethod
    def from_query(cls, query: Mapping[str, str] | Any) -> JournalFilters:
        data: dict[str, Any] = {}
        multi = {n for n, f in cls.model_fields.items() if f.annotation == list[str]}
        for key in set(query.keys()):
            values = query.getall(key) if hasattr(query, "getall") else [query[key]]
            if key in multi:
                data[key] = [v for raw in values for v in str(raw).split(",") if v]
            else:
                data[key] = values[-1]
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise PayloadError(f"bad filter: {exc}") from None


def _bound(value: date | datetime, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    moment = datetime.combine(value, time.min, tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


def journal_query(f: JournalFilters) -> Select[Any]:
    """The filtered journal (not yet ordered or limited)."""
    q = select(leads)
    conds: list[Any] = []
    period_col = leads.c.received_at if f.by == "received" else leads.c.taken_at
    if f.from_ is not None:
        conds.append(period_col >= _bound(f.from_, end=False))
    if f.to is not None:
        conds.append(period_col < _bound(f.to, end=True))
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
    if f.manager:
        conds.append(leads.c.manager_id.in_(select(users.c.id).where(users.c.name.in_(f.manager))))
    if f.department:
        conds.append(leads.c.manager_id.in_(select(users.c.id).where(users.c.department.in_(f.department))))
    if f.pipeline:
        conds.append(leads.c.pipeline_id.in_(select(pipelines.c.id).where(pipelines.c.name == f.pipeline)))
    if f.stage:
        conds.append(leads.c.stage_id.in_(select(stages.c.id).where(stages.c.name.in_(f.stage))))
    if f.advertising is not None:
        conds.append(leads.c.advertising.is_(f.advertising))
    if f.needs_callback is not None:
        conds.append(leads.c.needs_callback.is_(f.needs_callback))
    if f.contact_id is not None:
        conds.append(leads.c.contact_id == f.contact_id)
    if f.tag:
        conds.append(or_(*(_text(leads.c.tags).like(f'%"{t}"%') for t in f.tag)))
    if f.q:
        like = f"%{f.q.strip().lower()}%"
        digits = "".join(ch for ch in f.q if ch.isdigit())
        text_conds = [func.lower(leads.c.name).like(like), func.lower(leads.c.subject).like(like),
                      func.lower(leads.c.email).like(like), func.lower(leads.c.text).like(like)]
        if len(digits) >= 3:
            text_conds.append(leads.c.phone.like(f"%{digits[-10:]}%"))
        conds.append(or_(*text_conds))
    return q.where(and_(*conds)) if conds else q


def _text(col: Any) -> Any:
    from sqlalchemy import String, cast

    return cast(col, String)


def encode_cursor(received_at: datetime, lead_id: int) -> str:
    ts = received_at if received_at.tzinfo else received_at.replace(tzinfo=UTC)
    return base64.urlsafe_b64encode(f"{ts.isoformat()}|{lead_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        ts, lead_id = raw.split("|")
        return datetime.fromisoformat(ts), int(lead_id)
    except ValueError as exc:
        raise PayloadError("bad cursor") from exc


def list_leads(conn: Connection, f: JournalFilters, *, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]],
                                                                                                str | None]:
    q = journal_query(f)
    if cursor:
        ts, lead_id = decode_cursor(cursor)
        q = q.where(or_(leads.c.received_at < ts, and_(leads.c.received_at == ts, leads.c.id < lead_id)))
    rows = [dict(r) for r in conn.execute(
        q.order_by(leads.c.received_at.desc(), leads.c.id.desc()).limit(limit + 1)).mappings()]
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(rows[-1]["received_at"], rows[-1]["id"])
    return rows, next_cursor


def count_leads(conn: Connection, f: JournalFilters) -> int:
    sub = journal_query(f).with_only_columns(leads.c.id).subquery()
    return int(conn.execute(select(func.count()).select_from(sub)).scalar_one())


def deal_ids_for(conn: Connection, lead_rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    ids = {r["deal_id"] for r in lead_rows if r.get("deal_id")}
    if not ids:
        return {}
    return {r["id"]: dict(r) for r in conn.execute(select(deals).where(deals.c.id.in_(ids))).mappings()}
