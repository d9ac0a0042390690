"""Operators' API: triage of Unsorted (accept, decline, link, bulk), match hints, merging, triage options."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Connection, select

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.ids import Id, id_param, path_id
from gateway.api.spec import ApiRoute
from gateway.config import Settings
from gateway.core.errors import GatewayError
from gateway.http.keys import DB, OUTBOX, SETTINGS, leads_changed
from gateway.store.matching import matches_for_lead, merge_contacts
from gateway.store.schema import pipelines, stages, users
from gateway.store.triage import (
    AcceptRequest,
    Actor,
    DeclineRequest,
    LinkRequest,
    accept,
    check_operator,
    decline,
    lead_row,
    link,
)

__all__ = ["extend"]

log = structlog.get_logger(__name__)
CONFLICT = {200: "Done (or the same decision repeated)", 400: "Malformed", 403: "Not allowed", 404: "No such lead",
            409: "Another operator took it first: `taken_by`, `at`"}
LEAD_ID = id_param("lead_id")


class BulkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: str = Field(pattern="^(accept|decline)$")
    ids: list[Id] = Field(min_length=1, max_length=500)
    pipeline: str | None = None
    stage: str | None = None
    responsible: str | None = None
    reason: str | None = Field(default=None, max_length=1000)
    block: StrictBool = False  # JSON true or false, as the document says (not 0 or "yes")


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    into: Id


def _id(request: web.Request, name: str) -> int:
    return path_id(request, name, "lead" if name == "lead_id" else "contact")


def _decide(fn: Callable[..., dict[str, Any]], model: type[BaseModel]) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        lead_id = _id(request, "lead_id")
        body = await model_body(request, model, allow_empty=True)
        actor, settings = Actor.of(current_user(request)), request.app[SETTINGS]
        result = await request.app[DB].write(fn, lead_id, actor, body, now=datetime.now(UTC), settings=settings)
        request.app[OUTBOX].wake()  # a new deal may have set off its pipeline's triggers
        leads_changed(request.app)
        log.info("lead.decided", lead_id=lead_id, action=fn.__name__, user=actor.name, repeated=result["repeated"])
        return json_response(result)

    handler.__name__ = f"{fn.__name__}_lead"
    return handler


async def bulk(request: web.Request) -> web.Response:
    body = await model_body(request, BulkRequest)
    actor, settings, db = Actor.of(current_user(request)), request.app[SETTINGS], request.app[DB]
    fn: Callable[..., dict[str, Any]]
    if body.action == "accept":
        fn, req = accept, AcceptRequest(pipeline=body.pipeline, stage=body.stage, responsible=body.responsible)
    else:
        fn, req = decline, DeclineRequest(reason=body.reason, block=body.block)  # type: ignore[assignment]
    items: list[dict[str, Any]] = []
    for lead_id in dict.fromkeys(body.ids):
        try:
            res = await db.write(fn, lead_id, actor, req, now=datetime.now(UTC), settings=settings)
            items.append({"id": lead_id, "status": 200, "ok": True, "repeated": res["repeated"],
                          "deal_id": res["deal_id"], "contact_id": res["contact_id"]})
        except GatewayError as exc:
            items.append({"id": lead_id, "status": exc.status, "ok": False, "error": exc.message,
                          **{k: v for k, v in exc.details.items() if k in ("taken_by", "at")}})
    done = sum(1 for i in items if i["ok"])
    if done:
        leads_changed(request.app)
    return json_response({"items": items, "done": done, "failed": len(items) - done})


async def matches(request: web.Request) -> web.Response:
    lead_id, actor = _id(request, "lead_id"), Actor.of(current_user(request))
    region = request.app[SETTINGS].default_region

    def run(conn: Connection) -> list[dict[str, Any]]:
        check_operator(actor, lead_row(conn, lead_id))
        return matches_for_lead(conn, lead_id, region=region)

    return json_response({"items": await request.app[DB].read(run), "next_cursor": None})


async def merge(request: web.Request) -> web.Response:
    contact_id = _id(request, "id")
    body = await model_body(request, MergeRequest)
    actor = Actor.of(current_user(request))
    result = await request.app[DB].write(merge_contacts, contact_id, body.into, actor, now=datetime.now(UTC))
    return json_response(result)


def triage_options(conn: Connection, settings: Settings) -> dict[str, Any]:
    """Pipelines with their stages, active users, decline reasons: what the triage forms offer."""
    rows = conn.execute(select(pipelines.c.name, stages.c.name, stages.c.kind)
                        .join(stages, stages.c.pipeline_id == pipelines.c.id)
                        .order_by(pipelines.c.position, pipelines.c.id, stages.c.position)).all()
    out: dict[str, list[dict[str, str]]] = {}
    for pipe, stage, kind in rows:
        out.setdefault(pipe, []).append({"name": stage, "kind": kind})
    names = conn.execute(select(users.c.name, users.c.role).where(users.c.disabled.is_(False))
                         .order_by(users.c.name)).all()
    return {"pipelines": [{"name": p, "stages": s} for p, s in out.items()],
            "users": [{"name": n, "role": r} for n, r in names],
            "decline_reasons": list(settings.quality.decline_reasons)}


async def options(request: web.Request) -> web.Response:
    return json_response(await request.app[DB].read(triage_options, request.app[SETTINGS]))


def extend(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """The triage routes."""
    lead = (LEAD_ID,)
    return [
        ApiRoute("POST", "/api/v1/unsorted/bulk", bulk, "Accept or decline a selection; a result per item",
                 body=BulkRequest, responses={200: "Per-item results", 400: "Malformed"}, tag="triage"),
        ApiRoute("POST", "/api/v1/unsorted/{lead_id:[0-9]+}/accept", _decide(accept, AcceptRequest),
                 "Accept: contact created or reused, deal created, responsible set", params=lead,
                 body=AcceptRequest, responses=CONFLICT, tag="triage"),
        ApiRoute("POST", "/api/v1/unsorted/{lead_id:[0-9]+}/decline", _decide(decline, DeclineRequest),
                 "Decline: non-target; `block` adds its phone and e-mail to the blocklist", params=lead,
                 body=DeclineRequest, responses=CONFLICT, tag="triage"),
        ApiRoute("POST", "/api/v1/unsorted/{lead_id:[0-9]+}/link", _decide(link, LinkRequest),
                 "Link the lead to an existing deal", params=lead, body=LinkRequest, responses=CONFLICT,
                 tag="triage"),
        ApiRoute("GET", "/api/v1/unsorted/{lead_id:[0-9]+}/matches", matches,
                 "Contacts and deals the lead might belong to, with reasons, strongest first", params=lead,
                 responses={200: "OK", 403: "Not allowed", 404: "No such lead"}, tag="triage"),
        ApiRoute("POST", "/api/v1/contacts/{id:[0-9]+}/merge", merge, "Merge this contact into another",
                 roles=("admin", "manager"), body=MergeRequest,
                 params=(id_param(),),
                 responses={200: "Merged (or already)", 400: "Malformed", 404: "No such contact",
                            409: "Merged elsewhere meanwhile"}, tag="triage"),
        ApiRoute("GET", "/api/v1/triage/options", options, "Pipelines and stages, active users, decline reasons",
                 tag="triage"),
    ]
