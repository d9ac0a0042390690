"""What the operators' page asks beyond triage: the queue's true size, deals to link to by search, undo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import Connection

from gateway.api.auth import current_user
from gateway.api.body import json_response
from gateway.api.ids import id_param, path_id
from gateway.api.spec import ApiRoute, Param
from gateway.http.keys import DB, SETTINGS, leads_changed
from gateway.store.journal import JournalFilters, count_leads
from gateway.store.link_search import link_candidates
from gateway.store.triage import Actor, check_operator, lead_row
from gateway.store.undo import undo_decline

__all__ = ["ROUTES", "unsorted_filters"]

log = structlog.get_logger(__name__)
LEAD_ID = id_param("lead_id")


def unsorted_filters(query: Any, settings: Any) -> JournalFilters:
    """The queue's filters (channel, source, text) from query parameters; the status is always Unsorted."""
    keep = {k: query[k] for k in ("channel", "source", "q") if query.get(k)}
    return JournalFilters.from_query(keep, settings).model_copy(update={"status": ["unsorted"]})


def _lead_id(request: web.Request) -> int:
    return path_id(request, "lead_id", "lead")


async def unsorted_count(request: web.Request) -> web.Response:
    filters = unsorted_filters(request.query, request.app[SETTINGS])
    return json_response({"count": await request.app[DB].read(count_leads, filters)})


async def candidates(request: web.Request) -> web.Response:
    lead_id, actor = _lead_id(request), Actor.of(current_user(request))
    q, region = request.query.get("q", ""), request.app[SETTINGS].default_region

    def run(conn: Connection) -> list[dict[str, Any]]:
        check_operator(actor, lead_row(conn, lead_id))
        return link_candidates(conn, lead_id, q, region=region)

    return json_response({"items": await request.app[DB].read(run), "next_cursor": None})


async def undo(request: web.Request) -> web.Response:
    lead_id, actor = _lead_id(request), Actor.of(current_user(request))
    result = await request.app[DB].write(undo_decline, lead_id, actor, now=datetime.now(UTC))
    leads_changed(request.app)
    log.info("lead.decline_undone", lead_id=lead_id, user=actor.name)
    return json_response(result)


ROUTES = [
    ApiRoute("GET", "/api/v1/unsorted/count", unsorted_count, "How many leads wait in Unsorted (with the filters)",
             params=(Param("channel"), Param("source"), Param("q")), tag="triage"),
    ApiRoute("GET", "/api/v1/unsorted/{lead_id:[0-9]+}/candidates", candidates,
             "Contacts and deals to link the lead to, found by name, phone, e-mail or deal number, with the "
             "lead's match hints", params=(LEAD_ID, Param("q", required=True)),
             responses={200: "OK", 403: "Not allowed", 404: "No such lead"}, tag="triage"),
    ApiRoute("POST", "/api/v1/unsorted/{lead_id:[0-9]+}/undo", undo,
             "Take back one's own decline within a minute: the lead returns to Unsorted as it was", params=(LEAD_ID,),
             responses={200: "Back in Unsorted", 404: "Not declined", 409: "Not yours, changed, or too late"},
             tag="triage"),
]
