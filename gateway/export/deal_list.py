"""Deals for the export: filters, keyset pages (newest first), each deal with its contact and company."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy import Connection, and_, func, select, true

from gateway.store.deal_filters import DealFilters, deal_conditions
from gateway.store.schema import companies, contacts, deals, identities, leads, pipelines, stages, users

__all__ = ["DealFilters", "count_deals", "deal_page", "iter_deal_pages"]


def count_deals(conn: Connection, f: DealFilters) -> int:
    q = select(func.count()).select_from(deals).where(and_(true(), *deal_conditions(f)))
    return int(conn.execute(q).scalar_one())


def _first_identities(conn: Connection, contact_ids: set[int]) -> dict[tuple[int, str], str]:
    if not contact_ids:
        return {}
    rows = conn.execute(select(identities.c.contact_id, identities.c.kind, identities.c.value)
                        .where(identities.c.contact_id.in_(contact_ids)).order_by(identities.c.id))
    out: dict[tuple[int, str], str] = {}
    for contact_id, kind, value in rows:
        out.setdefault((contact_id, kind), value)
    return out


def deal_page(conn: Connection, f: DealFilters, *, limit: int, before_id: int | None) -> list[dict[str, Any]]:
    """Up to `limit` deals with ids below `before_id`, newest first, as export rows."""
    conds = deal_conditions(f)
    if before_id is not None:
        conds.append(deals.c.id < before_id)
    q = (select(deals, contacts.c.name.label("contact"), companies.c.name.label("company"),
                users.c.name.label("responsible"), stages.c.name.label("stage"), pipelines.c.name.label("pipeline"))
         .select_from(deals.outerjoin(contacts, contacts.c.id == deals.c.contact_id)
                      .outerjoin(companies, companies.c.id == func.coalesce(deals.c.company_id, contacts.c.company_id))
                      .outerjoin(users, users.c.id == deals.c.responsible_id)
                      .outerjoin(stages, stages.c.id == deals.c.stage_id)
                      .outerjoin(pipelines, pipelines.c.id == deals.c.pipeline_id))
         .where(and_(true(), *conds)).order_by(deals.c.id.desc()).limit(limit))
    rows = [dict(r) for r in conn.execute(q).mappings()]
    ids = [r["id"] for r in rows]
    counts: dict[int, int] = dict(conn.execute(select(leads.c.deal_id, func.count()).where(leads.c.deal_id.in_(ids))
                               .group_by(leads.c.deal_id)).all()) if ids else {}
    idents = _first_identities(conn, {r["contact_id"] for r in rows if r["contact_id"]})
    for r in rows:
        r["phone"] = idents.get((r["contact_id"], "phone"))
        r["email"] = idents.get((r["contact_id"], "email"))
        r["leads"] = counts.get(r["id"], 0)
    return rows


def iter_deal_pages(connect: Callable[[], AbstractContextManager[Connection]], f: DealFilters, *,
                    page: int = 1000) -> Iterator[list[dict[str, Any]]]:
    """Every matching deal, page by page, each page read in its own short transaction."""
    before: int | None = None
    while True:
        with connect() as conn:
            rows = deal_page(conn, f, limit=page, before_id=before)
        if rows:
            yield rows
        if len(rows) < page:
            return
        before = rows[-1]["id"]
