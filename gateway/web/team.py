"""The team page (administrators): who works here, and disabling one who leaves with their open work handed over."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Connection, func, select

from gateway.http.keys import DB
from gateway.store.schema import deals, tasks, users
from gateway.web.access import chrome, page
from gateway.web.render import render

__all__ = ["team_page"]


def _open(conn: Connection, table: Any) -> dict[int, int]:
    """Per responsible: how many of their deals or tasks are open."""
    q = select(table.c.responsible_id.label("who"), func.count().label("n")).where(table.c.status == "open",
                                                                                   table.c.responsible_id.is_not(None))
    return {int(r["who"]): int(r["n"]) for r in conn.execute(q.group_by(table.c.responsible_id)).mappings()}


def _team(conn: Connection) -> list[dict[str, Any]]:
    open_deals, open_tasks = _open(conn, deals), _open(conn, tasks)
    rows = conn.execute(select(users.c.id, users.c.name, users.c.role, users.c.disabled).order_by(users.c.name))
    return [{"name": u["name"], "role": u["role"], "disabled": u["disabled"], "deals": open_deals.get(u["id"], 0),
             "tasks": open_tasks.get(u["id"], 0)} for u in rows.mappings()]


@page("admin")
async def team_page(request: web.Request) -> web.StreamResponse:
    people = await request.app[DB].read(_team)
    active = [p["name"] for p in people if not p["disabled"]]
    return render(request, "team.html", team=people, active=active, **chrome(request))
