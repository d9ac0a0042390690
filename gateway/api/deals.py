"""Operators' API for deals: the list and the board, changes under a version, handover, tags, history, trigger runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.ids import id_param
from gateway.api.ids import path_id as _path_id
from gateway.api.leads import page_limit
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import NotFound, PayloadError, PermissionDenied
from gateway.http.keys import DB, OUTBOX, SETTINGS, leads_changed
from gateway.store import outbox
from gateway.store.deal_filters import DealFilters
from gateway.store.deal_list import board, column, list_deals
from gateway.store.deals import Cause, DealChange, change_deal
from gateway.store.handover import HandoverRequest, hand_over
from gateway.store.marks import NonTargetRequest, TagChange, mark_non_target, tag_deal, tag_lead
from gateway.store.schema import audit_log, deals, users
from gateway.store.triage import Actor, check_operator, lead_row
from gateway.store.views import iso

__all__ = ["ROUTES", "cause_of", "path_id"]

ALL = ("admin", "manager", "operator")
LEADERS = ("admin", "manager")
DEAL_ID = id_param()
LIST_PARAMS = (Param("pipeline"), Param("stage"), Param("responsible"), Param("status", description="open, won, lost"),
               Param("tag"), Param("from", description="created from"), Param("to", description="created until"),
               Param("q", description="the deal's or its contact's name"),
               Param("limit", type="integer", minimum=1, maximum=500),
               Param("cursor"))


def path_id(request: web.Request, what: str = "deal") -> int:
    return _path_id(request, "id", what)


def cause_of(request: web.Request) -> Cause:
    user = current_user(request)
    return Cause(by=str(user["name"]), user_id=int(user["id"]), own_only=user["role"] == "operator")


def _filters(request: web.Request) -> DealFilters:
    f = DealFilters.from_query(request.query, request.app[SETTINGS])
    user = current_user(request)
    if user["role"] == "operator":  # operators work their own deals
        f = f.model_copy(update={"responsible": [user["name"]]})
    return f


def _own(conn: Connection, deal_id: int, user: dict[str, Any]) -> None:
    """Operators change only the deals they are responsible for."""
    responsible = conn.execute(select(deals.c.responsible_id).where(deals.c.id == deal_id)).first()
    if responsible is None:
        raise NotFound("no such deal")
    if user["role"] == "operator" and responsible[0] != user["id"]:
        raise PermissionDenied("operators change their own deals only")


async def get_deals(request: web.Request) -> web.Response:
    f, limit, cursor = _filters(request), page_limit(request), request.query.get("cursor")
    items, next_cursor = await request.app[DB].read(list_deals, f, limit=limit, cursor=cursor)
    return json_response({"items": items, "next_cursor": next_cursor})


async def get_board(request: web.Request) -> web.Response:
    """The board (every column's totals and first page), or with `stage` one column's next page."""
    f, pipeline = _filters(request), request.query.get("pipeline") or None
    stage = request.query.get("stage")
    if stage:
        page = await request.app[DB].read(column, pipeline, stage, f, limit=page_limit(request, 30, 200),
                                          cursor=request.query.get("cursor"))
        return json_response(page)
    return json_response(await request.app[DB].read(board, pipeline, f, per_column=page_limit(request, 30, 200)))


async def patch_deal(request: web.Request) -> web.Response:
    deal_id = path_id(request)  # an unknown id answers 404 before the body is read
    body = await model_body(request, DealChange)
    deal = await request.app[DB].write(change_deal, deal_id, body, cause_of(request), now=datetime.now(UTC),
                                       settings=request.app[SETTINGS])
    request.app[OUTBOX].wake()  # a stage change may have queued trigger runs
    return json_response(deal)


async def deal_tags(request: web.Request) -> web.Response:
    deal_id = path_id(request)
    body = await model_body(request, TagChange)
    deal = await request.app[DB].write(tag_deal, deal_id, body, cause_of(request), now=datetime.now(UTC),
                                       settings=request.app[SETTINGS])
    return json_response(deal)


async def handover_one(request: web.Request) -> web.Response:
    deal_id = path_id(request)
    body = await model_body(request, HandoverRequest)
    done = await request.app[DB].write(hand_over, [deal_id], body.to, with_leads=body.with_leads,
                                       cause=cause_of(request), now=datetime.now(UTC))
    return json_response({"ok": True, "items": done})


async def handover_bulk(request: web.Request) -> web.Response:
    body = await model_body(request, HandoverRequest)
    if not body.ids:
        raise PayloadError("ids: give the deals to hand over")
    done = await request.app[DB].write(hand_over, body.ids, body.to, with_leads=body.with_leads,
                                       cause=cause_of(request), now=datetime.now(UTC))
    return json_response({"ok": True, "items": done})


def _lead_mark(fn: Callable[..., Any]) -> Callable[..., Any]:
    def run(conn: Connection, lead_id: int, body: Any, cause: Cause, actor: Actor) -> Any:
        check_operator(actor, lead_row(conn, lead_id))
        return fn(conn, lead_id, body, cause, now=datetime.now(UTC))

    return run


async def lead_tags(request: web.Request) -> web.Response:
    lead_id = path_id(request, "lead")
    body = await model_body(request, TagChange)
    tags = await request.app[DB].write(_lead_mark(tag_lead), lead_id, body, cause_of(request),
                                       Actor.of(current_user(request)))
    leads_changed(request.app)
    return json_response({"id": lead_id, "tags": tags})


async def lead_non_target(request: web.Request) -> web.Response:
    lead_id = path_id(request, "lead")
    body = await model_body(request, NonTargetRequest, allow_empty=True)
    marked = await request.app[DB].write(_lead_mark(mark_non_target), lead_id, body, cause_of(request),
                                         Actor.of(current_user(request)))
    leads_changed(request.app)
    return json_response(marked)


def deal_history(conn: Connection, deal_id: int) -> list[dict[str, Any]]:
    """The deal's audit lines, newest first."""
    q = select(audit_log, users.c.name.label("user")).outerjoin(users, users.c.id == audit_log.c.user_id) \
        .where(audit_log.c.deal_id == deal_id).order_by(audit_log.c.id.desc()).limit(500)
    return [{**dict(r), "at": iso(r["at"])}
            for r in conn.execute(q).mappings()]


def deal_runs(conn: Connection, deal_id: int) -> list[dict[str, Any]]:
    """The deal's trigger runs and the webhooks they sent, newest first, each with its status and result."""
    keep = ("id", "kind", "target", "event_type", "status", "attempts", "last_error", "result", "payload",
            "created_at", "next_attempt_at", "attempted_at", "delivered_at")
    rows = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items() if k in keep}
            for r in outbox.jobs_for(conn, deal_id=deal_id)]
    for r in rows:
        if r["kind"] != "trigger":
            r.pop("payload")
    return rows[::-1]


def _read_deal(fn: Callable[[Connection, int], Any]) -> Callable[[web.Request], Any]:
    async def handler(request: web.Request) -> web.Response:
        deal_id, user = path_id(request), current_user(request)

        def run(conn: Connection) -> Any:
            if user["role"] == "operator":
                _own(conn, deal_id, user)
            return fn(conn, deal_id)

        return json_response({"items": await request.app[DB].read(run), "next_cursor": None})

    handler.__name__ = fn.__name__
    return handler


CHANGE = {200: "The deal as it now is", 400: "Malformed", 403: "Not yours", 404: "No such deal",
          409: "Changed meanwhile: `deal` is the deal as it now is"}
ROUTES = [
    ApiRoute("GET", "/api/v1/deals", get_deals, "Deals, newest first", params=LIST_PARAMS,
             responses={200: "OK", 400: "Bad filter or cursor"}, tag="deals"),
    ApiRoute("GET", "/api/v1/deals/board", get_board, "A pipeline's board: per stage the totals and the first "
             "page of deals; with `stage`, that column's next page",
             params=(Param("pipeline"), Param("stage"), Param("responsible"), Param("tag"), Param("q"),
                     Param("limit", type="integer", minimum=1, maximum=200, description="deals per column"),
                     Param("cursor")),
             responses={200: "OK", 400: "Bad filter"}, tag="deals"),
    ApiRoute("PATCH", "/api/v1/deals/{id:[0-9]+}", patch_deal, "Change stage, responsible, budget, name or tags; a "
             "stale `version` answers 409; a stage change runs the pipeline's triggers", params=(DEAL_ID,),
             body=DealChange, responses=CHANGE, tag="deals"),
    ApiRoute("POST", "/api/v1/deals/{id:[0-9]+}/tags", deal_tags, "Add and remove tags", params=(DEAL_ID,),
             body=TagChange, responses=CHANGE, tag="deals"),
    ApiRoute("POST", "/api/v1/deals/{id:[0-9]+}/handover", handover_one, "Hand the deal to another manager, with or "
             "without its leads", roles=LEADERS, params=(DEAL_ID,), body=HandoverRequest,
             responses={200: "Handed over", 400: "No such active user", 404: "No such deal"}, tag="deals"),
    ApiRoute("POST", "/api/v1/deals/handover", handover_bulk, "Hand several deals (`ids`) to another manager",
             roles=LEADERS, body=HandoverRequest, responses={200: "Handed over", 400: "Malformed",
                                                            404: "No such deal"}, tag="deals"),
    ApiRoute("GET", "/api/v1/deals/{id:[0-9]+}/history", _read_deal(deal_history), "The deal's changes, newest first",
             params=(DEAL_ID,), responses={200: "OK", 403: "Not yours", 404: "No such deal"}, tag="deals"),
    ApiRoute("GET", "/api/v1/deals/{id:[0-9]+}/runs", _read_deal(deal_runs), "The deal's trigger runs and their "
             "webhooks, newest first, with status and result", params=(DEAL_ID,),
             responses={200: "OK", 403: "Not yours", 404: "No such deal"}, tag="deals"),
    ApiRoute("POST", "/api/v1/leads/{id:[0-9]+}/tags", lead_tags, "Add and remove a lead's tags", params=(DEAL_ID,),
             body=TagChange, responses={200: "The lead's tags", 403: "Not yours", 404: "No such lead"}, tag="deals"),
    ApiRoute("POST", "/api/v1/leads/{id:[0-9]+}/non-target", lead_non_target, "Mark any lead non-target by hand",
             params=(DEAL_ID,), body=NonTargetRequest, responses={200: "Marked", 403: "Not yours",
                                                                 404: "No such lead"}, tag="deals"),
]
