"""`GET /api/v1/calltracking/{site}/pool`: how a site's number pool is used."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.api.body import json_response
from gateway.api.spec import ApiRoute, Param
from gateway.calltracking.usage import pool_usage
from gateway.core.errors import NotFound
from gateway.http.keys import DB, SETTINGS

__all__ = ["ROUTES"]


async def pool(request: web.Request) -> web.Response:
    site = request.app[SETTINGS].calltracking.site(request.match_info["site"])
    if site is None:
        raise NotFound("no such call tracking site: see [[calltracking.sites]] in the settings")
    return json_response(await request.app[DB].read(pool_usage, site, datetime.now(UTC)))


ROUTES = [
    ApiRoute("GET", "/api/v1/calltracking/{site}/pool", pool,
             "A call tracking pool's use: numbers held now, exhaustions per hour over the last week, the pool size "
             "that would have served every visitor", roles=("admin", "manager"),
             params=(Param("site", where="path", required=True),),
             responses={200: "The pool's use", 404: "No such site"}),
]
