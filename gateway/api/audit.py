"""Operators' API: the audit log (who did what), newest first."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.api.body import json_response
from gateway.api.ids import id_param, query_id
from gateway.api.spec import ApiRoute, Param
from gateway.config import Settings
from gateway.core.errors import PayloadError
from gateway.http.keys import DB
from gateway.store.schema import audit_log, users

__all__ = ["extend"]


async def audit_entries(request: web.Request) -> web.Response:
    lead_id = query_id(request, "lead_id")
    try:
        limit = min(500, max(1, int(request.query.get("limit", 100))))
    except ValueError:
        raise PayloadError("limit must be an integer") from None

    def run(conn: Connection) -> list[dict[str, Any]]:
        q = select(audit_log, users.c.name.label("user")).outerjoin(users, users.c.id == audit_log.c.user_id)
        if lead_id is not None:
            q = q.where(audit_log.c.lead_id == lead_id)
        rows = conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit)).mappings()
        return [{**dict(r), "at": r["at"].isoformat()} for r in rows]

    return json_response({"items": await request.app[DB].read(run), "next_cursor": None})


def extend(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """The audit route."""
    return [
        ApiRoute("GET", "/api/v1/audit", audit_entries, "Who did what, newest first", roles=("admin", "manager"),
                 params=(id_param("lead_id", "query"),
                         Param("limit", type="integer", description="at most 500 are given")), tag="users"),
    ]
