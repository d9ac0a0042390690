"""The call tracking page: each site's number pool, how it is used, and the size that would have been enough."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from gateway.calltracking.usage import pool_usage
from gateway.config import Settings
from gateway.http.keys import DB, SETTINGS
from gateway.web.access import chrome, page
from gateway.web.render import render

__all__ = ["calltracking_page"]


def _usage(conn: Connection, settings: Settings, now: datetime) -> list[dict[str, Any]]:
    return [pool_usage(conn, site, now) for site in settings.calltracking.sites]


@page("admin", "manager", refusal="Call tracking figures are for managers and administrators")
async def calltracking_page(request: web.Request) -> web.StreamResponse:
    sites = await request.app[DB].read(_usage, request.app[SETTINGS], datetime.now(UTC))
    for site in sites:
        site["numbers"] = [{**n, "held_until": datetime.fromisoformat(n["held_until"]) if n["held_until"] else None}
                           for n in site["numbers"]]
        site["exhausted_per_hour"] = [{**h, "hour": datetime.fromisoformat(h["hour"])}
                                      for h in site["exhausted_per_hour"]]
    return render(request, "calltracking.html", sites=sites, **chrome(request))
