"""Sinks seen by operators: deliver a lead again; the signed file links a remote CRM opens."""

from __future__ import annotations

import hmac
import time
from datetime import UTC, datetime

from aiohttp import web

from gateway.api.auth import current_user
from gateway.api.body import json_response
from gateway.api.ids import id_param, path_id
from gateway.api.leads import get_file
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import NotFound
from gateway.http.keys import DB, OUTBOX, SETTINGS
from gateway.sinks.jobs import retry_delivery
from gateway.sinks.links import link_signature
from gateway.store.deliveries import sink_states
from gateway.store.triage import Actor, check_operator, lead_row

__all__ = ["ROUTES"]


async def retry(request: web.Request) -> web.Response:
    lead_id = path_id(request, what="lead")
    sink = request.app[SETTINGS].sinks.named(request.match_info["name"])
    if sink is None:
        raise NotFound("no such sink in the settings")
    actor = Actor.of(current_user(request))

    def run(conn):  # type: ignore[no-untyped-def]
        check_operator(actor, lead_row(conn, lead_id))
        job = retry_delivery(conn, sink, lead_id, now=datetime.now(UTC))
        return job, next(d for d in sink_states(conn, [lead_id])[lead_id] if d["name"] == sink.name)

    job, state = await request.app[DB].write(run)
    request.app[OUTBOX].wake()
    return json_response({"ok": True, "job": job, "sink": {**state, "delivered_at": None,
                                                           "next_attempt_at": None}}, status=202)


async def signed_file(request: web.Request) -> web.StreamResponse:
    """A file by a signed, expiring link (what a sink was given); no session needed."""
    links = request.app[SETTINGS].sinks
    try:
        expires = int(request.match_info["expires"])
    except ValueError:
        raise NotFound("no such file") from None
    expected = link_signature(links.link_secret or "", request.match_info["id"], expires)
    if not links.link_secret or expires < time.time() or not hmac.compare_digest(expected, request.match_info["sig"]):
        raise NotFound("no such file, or the link expired")
    return await get_file(request)


ROUTES = [
    ApiRoute("POST", "/api/v1/leads/{id:[0-9]+}/sinks/{name}/retry", retry, "Deliver a lead to a sink again now",
             params=(id_param(),
                     Param("name", where="path", required=True)),
             responses={202: "Queued; the delivery's state", 404: "No such lead or sink",
                        403: "Operators act on Unsorted and their own leads"}),
    ApiRoute("GET", "/files/{id}/{expires}/{sig}", signed_file, "A lead's file by a signed link given to a sink",
             roles=None, params=(Param("id", where="path", required=True),
                                 Param("expires", where="path", type="integer", required=True),
                                 Param("sig", where="path", required=True)),
             responses={200: "The file", 404: "No such file, or the link expired"},
             content="application/octet-stream", tag="sinks"),
]
