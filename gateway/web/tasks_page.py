"""The "my tasks" page: the reader's open tasks and the common queue's, overdue first, each completed in place."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.http.keys import DB
from gateway.store.schema import deals, leads
from gateway.store.tasks import list_tasks
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.render import render

__all__ = ["tasks_page", "titled"]


def titled(conn: Connection, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks with the names of their deals and leads, to link to."""
    deal_ids = {t["deal_id"] for t in items if t["deal_id"]}
    lead_ids = {t["lead_id"] for t in items if t["lead_id"]}
    names: dict[int, str] = dict(conn.execute(select(deals.c.id, deals.c.name).where(deals.c.id.in_(deal_ids))).all()) \
        if deal_ids else {}
    lead_names = {r.id: r.name or r.phone or r.email for r in conn.execute(
        select(leads.c.id, leads.c.name, leads.c.phone, leads.c.email).where(leads.c.id.in_(lead_ids)))} \
        if lead_ids else {}
    return [{**t, "deal_name": names.get(t["deal_id"]), "lead_name": lead_names.get(t["lead_id"])} for t in items]


@page()
async def tasks_page(request: web.Request) -> web.StreamResponse:
    user = request[PAGE_USER]
    done = request.query.get("status") == "done"

    def run(conn: Connection) -> list[dict[str, Any]]:
        items, _ = list_tasks(conn, responsible=[int(user["id"]), None], status="done" if done else "open",
                              now=datetime.now(UTC), limit=300)
        return titled(conn, items[::-1] if done else items)

    items = await request.app[DB].read(run)
    return render(request, "tasks.html", tasks=items, showing_done=done, **chrome(request))
