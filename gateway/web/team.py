"""The team page (administrators): who works here, and disabling one who leaves with their open work handed over."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Connection, func, select

from gateway.http.keys import DB
from gateway.store.schema import deals, tasks, users
from gateway.web.access import chrome, page
from gateway.web.board import formats
from gateway.web.deal_formats import DEALS, TASKS
from gateway.web.render import render

__all__ = ["team_page"]


def _team(conn: Connection) -> list[dict[str, Any]]:
    open_deals = dict(conn.execute(select(deals.c.responsible_id, func.count()).where(deals.c.status == "open")
                                   .group_by(deals.c.responsible_id)).all())
    open_tasks = dict(conn.execute(select(tasks.c.responsible_id, func.count()).where(tasks.c.status == "open")
                                   .group_by(tasks.c.responsible_id)).all())
    rows = conn.execute(select(users.c.id, users.c.name, users.c.role, users.c.disabled).order_by(users.c.name))
    return [{"name": name, "role": role, "disabled": disabled, "deals": open_deals.get(user_id, 0),
             "tasks": open_tasks.get(user_id, 0)} for user_id, name, role, disabled in rows]


@page("admin")
async def team_page(request: web.Request) -> web.StreamResponse:
    people = await request.app[DB].read(_team)
    active = [p["name"] for p in people if not p["disabled"]]
    return render(request, "team.html", people=people, active=active, fmt=formats(request), deal_words=DEALS,
                  task_words=TASKS, **chrome(request))
