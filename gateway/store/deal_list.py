"""The deal list of the API and the board's columns: filtered, newest first, in cursor pages."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, func, select, true

from gateway.core.errors import PayloadError
from gateway.store.deal_filters import DealFilters, deal_conditions
from gateway.store.schema import companies, contacts, deals, leads, pipelines, stages, users
from gateway.store.tasks import open_count, open_tasks_of
from gateway.store.views import iso

__all__ = ["board", "board_cards", "column", "column_page", "column_totals", "deal_card", "deal_items", "list_deals"]

_CARD = select(deals.c.id, deals.c.name, deals.c.budget, deals.c.tags, deals.c.version, deals.c.created_at,
               deals.c.stage_id, deals.c.status, contacts.c.name.label("contact"), users.c.name.label("responsible")) \
    .select_from(deals.outerjoin(contacts, contacts.c.id == deals.c.contact_id)
                 .outerjoin(users, users.c.id == deals.c.responsible_id))


def encode_cursor(deal_id: int) -> str:
    return base64.urlsafe_b64encode(f"deal|{deal_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        kind, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        if kind != "deal":
            raise ValueError(kind)
        return int(value)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("bad cursor") from None


def _page(conn: Connection, q: Any, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    if cursor:
        q = q.where(deals.c.id < decode_cursor(cursor))
    rows = [dict(r) for r in conn.execute(q.order_by(deals.c.id.desc()).limit(limit + 1)).mappings()]
    return rows[:limit], encode_cursor(rows[limit - 1]["id"]) if len(rows) > limit else None


_COMPANY = func.coalesce(deals.c.company_id, contacts.c.company_id)
_DEAL = select(deals, pipelines.c.name.label("pipeline_name"), stages.c.name.label("stage_name"),
               users.c.name.label("responsible_name"), _COMPANY.label("company_ref"),
               companies.c.name.label("company_name")).select_from(
    deals.join(pipelines, pipelines.c.id == deals.c.pipeline_id).join(stages, stages.c.id == deals.c.stage_id)
    .outerjoin(users, users.c.id == deals.c.responsible_id).outerjoin(contacts, contacts.c.id == deals.c.contact_id)
    .outerjoin(companies, companies.c.id == _COMPANY))


def list_deals(conn: Connection, f: DealFilters, *, limit: int,
               cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of deals (as the API shows them), newest first, and the next page's cursor."""
    rows, next_cursor = _page(conn, _DEAL.where(and_(true(), *deal_conditions(f))), limit, cursor)
    return deal_items(conn, rows), next_cursor


def deal_card(conn: Connection, deal_id: int) -> dict[str, Any]:
    """One deal as the list shows it: its lead ids and open tasks, not the leads themselves."""
    return deal_items(conn, [dict(conn.execute(_DEAL.where(deals.c.id == deal_id)).mappings().one())])[0]


def deal_items(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of `_DEAL` as the API lists deals, with their lead ids and open tasks (two more queries a page)."""
    ids = [r["id"] for r in rows]
    lead_ids: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for lead in conn.execute(select(leads.c.id, leads.c.deal_id).where(leads.c.deal_id.in_(ids))
                                 .order_by(leads.c.id)).mappings():
            lead_ids[lead["deal_id"]].append(lead["id"])
    open_tasks = open_tasks_of(conn, ids)
    return [{"id": r["id"], "name": r["name"], "pipeline": r["pipeline_name"], "stage": r["stage_name"],
             "status": r["status"], "responsible": r["responsible_name"], "budget": r["budget"],
             "contact_id": r["contact_id"], "company_id": r["company_ref"], "company": r["company_name"],
             "tags": r["tags"] or [], "version": r["version"], "created_at": iso(r["created_at"]),
             "updated_at": iso(r["updated_at"]), "closed_at": iso(r["closed_at"]), "leads": lead_ids[r["id"]],
             "tasks": open_tasks[r["id"]]} for r in rows]


# --- the board -------------------------------------------------------------------------------------
def board_cards(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """What a board card shows: name, contact, budget, responsible, age, open tasks."""
    counts = open_count(conn, [r["id"] for r in rows])
    return [{**r, "created_at": iso(r["created_at"]), "tags": r["tags"] or [], "open_tasks": counts.get(r["id"], 0)}
            for r in rows]


def column_page(conn: Connection, stage_id: int, f: DealFilters, *, limit: int,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a board column: the stage's deals under the filter (its stage ignored), newest first."""
    q = _CARD.where(deals.c.stage_id == stage_id, *deal_conditions(f, stage=False))
    rows, next_cursor = _page(conn, q, limit, cursor)
    return board_cards(conn, rows), next_cursor


def column_totals(conn: Connection, pipeline_id: int, f: DealFilters) -> dict[int, tuple[int, float]]:
    """Per stage of the pipeline: how many deals the filter leaves in it, and their budgets' sum."""
    q = select(deals.c.stage_id, func.count().label("n"), func.coalesce(func.sum(deals.c.budget), 0).label("total")) \
        .where(deals.c.pipeline_id == pipeline_id, *deal_conditions(f, stage=False)).group_by(deals.c.stage_id)
    return {int(r["stage_id"]): (int(r["n"]), float(r["total"])) for r in conn.execute(q).mappings()}


def _pipeline(conn: Connection, name: str | None) -> tuple[int, str]:
    q = select(pipelines.c.id, pipelines.c.name).order_by(pipelines.c.position, pipelines.c.id).limit(1)
    row = conn.execute(q.where(pipelines.c.name == name) if name else q).first()
    if row is None:
        raise PayloadError(f"pipeline: no pipeline named {name!r}")
    return int(row[0]), str(row[1])


def board(conn: Connection, pipeline: str | None, f: DealFilters, *, per_column: int) -> dict[str, Any]:
    """A pipeline's board: each stage (Unsorted aside) with its totals under the filter and its first page."""
    pipeline_id, name = _pipeline(conn, pipeline)
    totals = column_totals(conn, pipeline_id, f)
    columns = []
    for stage in conn.execute(select(stages.c.id, stages.c.name, stages.c.kind).where(
            stages.c.pipeline_id == pipeline_id, stages.c.kind != "unsorted").order_by(stages.c.position)).mappings():
        cards, cursor = column_page(conn, stage["id"], f, limit=per_column, cursor=None)
        count, budget = totals.get(stage["id"], (0, 0.0))
        columns.append({"stage": stage["name"], "stage_id": stage["id"], "kind": stage["kind"], "count": count,
                        "budget": budget, "deals": cards, "next_cursor": cursor})
    names: list[str] = list(conn.execute(select(pipelines.c.name).order_by(pipelines.c.position,
                                                                           pipelines.c.id)).scalars())
    return {"pipeline": name, "pipelines": names, "columns": columns}


def column(conn: Connection, pipeline: str | None, stage: str, f: DealFilters, *, limit: int,
           cursor: str | None) -> dict[str, Any]:
    """The next page of one board column."""
    pipeline_id, name = _pipeline(conn, pipeline)
    stage_id = conn.execute(select(stages.c.id).where(stages.c.pipeline_id == pipeline_id,
                                                      stages.c.name == stage)).scalar()
    if stage_id is None:
        raise PayloadError(f"stage: no stage {stage!r} in pipeline {name!r}")
    cards, next_cursor = column_page(conn, int(stage_id), f, limit=limit, cursor=cursor)
    return {"pipeline": name, "stage": stage, "deals": cards, "next_cursor": next_cursor}
