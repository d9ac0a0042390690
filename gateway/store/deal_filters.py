"""The deal list's filters (the API's list, the board, the export): query parameters to SQL conditions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import or_, select

from gateway.store.journal_terms import json_list_has, period_bound
from gateway.store.query_filters import QueryFilters
from gateway.store.schema import contacts, deals, pipelines, stages, users

__all__ = ["DealFilters", "deal_conditions"]


class DealFilters(QueryFilters):
    """Query parameters of `GET /api/v1/deals` (and the board's, and the export's)."""

    from_: date | datetime | None = Field(default=None, alias="from")  # created
    to: date | datetime | None = None
    pipeline: list[str] = Field(default_factory=list)
    stage: list[str] = Field(default_factory=list)
    responsible: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    tag: list[str] = Field(default_factory=list)
    q: str | None = Field(default=None, max_length=200)

    @field_validator("status")
    @classmethod
    def _statuses(cls, values: list[str]) -> list[str]:
        unknown = sorted(set(values) - {"open", "won", "lost"})
        if unknown:
            raise ValueError(f"status: open, won or lost, not {unknown[0]!r}")
        return values

    @classmethod
    def from_query(cls, query: Mapping[str, str] | Any, settings: Any = None) -> DealFilters:
        return cls.validated(cls.query_data(query), settings)


def _named(text: str) -> Any:
    """The deal's or its contact's name holds `text`, in any letter case (SQLite folds ASCII only, so the
    usual spellings of other alphabets are tried too)."""
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    spellings = sorted({escaped, escaped.lower(), escaped.upper(), escaped.capitalize(), escaped.title()})
    conds = []
    for s in spellings:
        named = select(contacts.c.id).where(contacts.c.name.ilike(f"%{s}%", escape="!"))
        conds += [deals.c.name.ilike(f"%{s}%", escape="!"), deals.c.contact_id.in_(named)]
    return or_(*conds)


def deal_conditions(f: DealFilters, *, stage: bool = True) -> list[Any]:
    """The filter's conditions on `deals` (`stage=False`: all but the stage, for a board's columns)."""
    conds: list[Any] = []
    if f.from_ is not None:
        conds.append(deals.c.created_at >= period_bound(f.from_, f.tz, end=False))
    if f.to is not None:
        conds.append(deals.c.created_at < period_bound(f.to, f.tz, end=True))
    if f.pipeline:
        conds.append(deals.c.pipeline_id.in_(select(pipelines.c.id).where(pipelines.c.name.in_(f.pipeline))))
    if f.stage and stage:
        chosen = select(stages.c.id).where(stages.c.name.in_(f.stage))
        if f.pipeline:
            chosen = chosen.where(stages.c.pipeline_id.in_(
                select(pipelines.c.id).where(pipelines.c.name.in_(f.pipeline))))
        conds.append(deals.c.stage_id.in_(chosen))
    if f.responsible:
        conds.append(deals.c.responsible_id.in_(select(users.c.id).where(users.c.name.in_(f.responsible))))
    if f.status:
        conds.append(deals.c.status.in_(f.status))
    if f.tag:
        conds.append(or_(*(json_list_has(deals.c.tags, t) for t in f.tag)))
    if f.q and f.q.strip():
        conds.append(_named(f.q.strip()))
    return conds
