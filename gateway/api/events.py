"""The event log over HTTP: list by status, look at one, replay."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.body import json_response, model_body
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import NotFound, PayloadError
from gateway.http.keys import DB, DISPATCHER
from gateway.store import event_log

__all__ = ["ROUTES"]

STATUSES = ("pending", "processing", "done", "failed", "dead")


def _event_json(row: dict[str, Any], with_body: bool = False) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "body"}
    if with_body:
        body = bytes(row["body"])
        try:
            out["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(body[:1 << 20]).decode()
    return out


async def list_events(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in STATUSES:
        raise PayloadError(f"status must be one of {', '.join(STATUSES)}")
    try:
        limit = min(500, max(1, int(request.query.get("limit", 50))))
    except ValueError:
        raise PayloadError("limit must be an integer") from None
    rows = await request.app[DB].read(event_log.list_events, status=status, limit=limit + 1,
                                      cursor=request.query.get("cursor"))
    next_cursor = rows[limit - 1]["id"] if len(rows) > limit else None
    return json_response({"items": [_event_json(r) for r in rows[:limit]], "next_cursor": next_cursor})


async def get_event(request: web.Request) -> web.Response:
    row = await request.app[DB].read(event_log.get, request.match_info["id"])
    if row is None:
        raise NotFound("no such event")
    return json_response(_event_json(row, with_body=True))


async def replay_event(request: web.Request) -> web.Response:
    event_id = request.match_info["id"]
    if await request.app[DB].read(event_log.get, event_id) is None:
        raise NotFound("no such event")
    n = await request.app[DB].write(lambda conn: event_log.requeue(conn, ids=[event_id], now=datetime.now(UTC)))
    request.app[DISPATCHER].wake()
    return json_response({"ok": True, "requeued": n})


class ReplayAll(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(pattern="^(failed|dead)$")


async def replay_all(request: web.Request) -> web.Response:
    """Every failed (or dead) event back to pending at once."""
    body = await model_body(request, ReplayAll)
    n = await request.app[DB].write(lambda conn: event_log.requeue(conn, statuses=[body.status],
                                                                   now=datetime.now(UTC)))
    request.app[DISPATCHER].wake()
    return json_response({"ok": True, "requeued": n})


ROUTES = [
    ApiRoute("GET", "/api/v1/events", list_events, "The event log, newest first", roles=("admin", "manager"),
             params=(Param("status", enum=STATUSES),
                     Param("limit", type="integer", description="at most 500 are given"), Param("cursor")),
             tag="events"),
    ApiRoute("GET", "/api/v1/events/{id}", get_event, "One stored event with its raw body", roles=("admin",),
             params=(Param("id", where="path", required=True),), responses={200: "OK", 404: "None"}, tag="events"),
    ApiRoute("POST", "/api/v1/events/{id}/replay", replay_event, "Process an event again (never duplicates)",
             roles=("admin",), params=(Param("id", where="path", required=True),),
             responses={200: "Requeued", 404: "No such event"}, tag="events"),
    ApiRoute("POST", "/api/v1/events/replay", replay_all, "Process every failed (or dead) event again",
             roles=("admin",), body=ReplayAll, responses={200: "Requeued: `requeued` events", 400: "Bad status"},
             tag="events"),
]
