"""Operator API: manual leads, the journal, one lead, contacts, deals, files."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import Connection

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.ids import id_param, path_id
from gateway.api.spec import ApiRoute, Param
from gateway.connectors.base import NewEvent
from gateway.connectors.manual.connector import ManualLead
from gateway.core.errors import NotFound, PayloadError, PermissionDenied
from gateway.http.keys import DB, DISPATCHER, FILES, SETTINGS, WRITER
from gateway.store import event_log
from gateway.store.journal import JournalFilters, count_leads, list_leads
from gateway.store.journal_view import journal_items
from gateway.store.schema import attachments, files
from gateway.store.views import contacts_by_identity, deal_json, lead_json, leads_json

__all__ = ["ROUTES", "page_limit"]

FILTER_PARAMS = (
    Param("from", description="period start (a date in the company's time zone, or an ISO time)"),
    Param("to", description="period end, inclusive"),
    Param("by", description="which day the period means", enum=("received", "taken")),
    Param("channel", description="comma-separated"), Param("kind"), Param("quality", description=(
        "target, repeat, non_target, unverified, unsorted")), Param("status"), Param("source"), Param("source_group"),
    Param("manager"), Param("department"),
    Param("include_dismissed", type="boolean", description="dismissed (disabled) managers match too"),
    Param("direction", description="in, out, internal"), Param("pipeline"), Param("stage"), Param("tag"),
    Param("advertising", type="boolean", description="omit for every lead"), Param("needs_callback", type="boolean"),
    Param("q", description="text, a phone number or an e-mail"),
    Param("manager_mode", enum=("taken", "responsible"),
          description="show (and filter by) who took the lead, or the deal's responsible"),
)
PAGE_PARAMS = (Param("limit", type="integer", minimum=1, maximum=500), Param("cursor"))


def page_limit(request: web.Request, default: int = 50, maximum: int = 500) -> int:
    try:
        limit = int(request.query.get("limit", default))
    except ValueError:
        raise PayloadError("limit must be an integer") from None
    if not 1 <= limit <= maximum:
        raise PayloadError(f"limit must be between 1 and {maximum}")
    return limit


async def create_lead(request: web.Request) -> web.Response:
    lead = await model_body(request, ManualLead)
    if not (lead.phone or lead.email or lead.name or lead.text):
        raise PayloadError("give at least one of name, phone, email, text")
    user = current_user(request)
    key = request.headers.get("Idempotency-Key") or uuid.uuid4().hex
    event = NewEvent(connector="manual", account=user["name"], key=key[:200],
                     body=lead.model_dump_json(exclude_none=True).encode(), received_at=datetime.now(UTC),
                     name="lead", headers={"x-user": user["name"]})
    [(event_id, is_new)] = await request.app[WRITER].store([event])
    request.app[DISPATCHER].wake()
    if request.query.get("wait") in ("1", "true"):
        lead_id = await _wait_for_lead(request, event_id)
        if lead_id is not None:
            body = await request.app[DB].read(lead_json, lead_id)
            return json_response({"ok": True, "event": event_id, "lead": body}, status=201)
    return json_response({"ok": True, "event": event_id, "duplicate": not is_new}, status=202)


async def _wait_for_lead(request: web.Request, event_id: str, within_s: float = 10.0) -> int | None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while loop.time() < deadline:
        ev = await request.app[DB].read(event_log.get, event_id)
        if ev and ev["status"] == "done":
            leads = (ev["result"] or {}).get("leads") or []
            return leads[0] if leads else None
        if ev and ev["status"] == "dead":
            return None
        await asyncio.sleep(0.05)
    return None


def _manager_mode(request: web.Request) -> str:
    mode = request.query.get("manager_mode") or request.app[SETTINGS].access.journal_manager
    if mode not in ("taken", "responsible"):
        raise PayloadError("manager_mode must be taken or responsible")
    return mode


async def journal(request: web.Request) -> web.Response:
    filters = JournalFilters.from_query(request.query, request.app[SETTINGS])
    user = current_user(request)
    if user["role"] == "operator":  # operators: Unsorted and their own leads
        filters = filters.model_copy(update={"visible_to": int(user["id"])})
    limit, cursor = page_limit(request), request.query.get("cursor")
    with_count = request.query.get("count") in ("1", "true")

    def run(conn: Connection) -> dict[str, Any]:
        rows, next_cursor = list_leads(conn, filters, limit=limit, cursor=cursor)
        items = journal_items(conn, rows, manager_mode=filters.manager_mode)
        out: dict[str, Any] = {"items": items, "next_cursor": next_cursor}
        if with_count:
            out["count"] = count_leads(conn, filters)
        return out

    return json_response(await request.app[DB].read(run))


async def unsorted(request: web.Request) -> web.Response:
    filters = JournalFilters.from_query(request.query).model_copy(update={"status": ["unsorted"]})
    limit, cursor = page_limit(request), request.query.get("cursor")

    def run(conn):  # type: ignore[no-untyped-def]
        rows, next_cursor = list_leads(conn, filters, limit=limit, cursor=cursor)
        return {"items": leads_json(conn, rows), "next_cursor": next_cursor}

    return json_response(await request.app[DB].read(run))


async def get_lead(request: web.Request) -> web.Response:
    lead = await request.app[DB].read(lead_json, path_id(request, what="lead"), manager_mode=_manager_mode(request))
    if lead is None:
        raise NotFound("no such lead")
    user = current_user(request)
    if user["role"] == "operator" and lead["status"] != "unsorted" and lead["manager"] != user["name"]:
        raise PermissionDenied("operators see Unsorted and their own leads")
    return json_response(lead)


async def get_contacts(request: web.Request) -> web.Response:
    phone, email = request.query.get("phone"), request.query.get("email")
    if not phone and not email:  # nothing to look for: no contact matches
        return json_response({"items": [], "next_cursor": None})
    region = request.app[SETTINGS].default_region
    items = await request.app[DB].read(contacts_by_identity, phone=phone, email=email, region=region)
    return json_response({"items": items, "next_cursor": None})


async def get_deal(request: web.Request) -> web.Response:
    deal = await request.app[DB].read(deal_json, path_id(request, what="deal"))
    if deal is None:
        raise NotFound("no such deal")
    return json_response(deal)


async def get_file(request: web.Request) -> web.StreamResponse:
    file_id = request.match_info["id"]
    store = request.app[FILES]

    def find(conn):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        row = conn.execute(select(files).where(files.c.id == file_id)).mappings().first()
        name = conn.execute(select(attachments.c.name).where(attachments.c.file_id == file_id).limit(1)).scalar()
        return row, name

    try:
        path = store.path(file_id)
    except ValueError:
        raise NotFound("no such file") from None
    row, name = await request.app[DB].read(find)
    if row is None or not path.exists():
        raise NotFound("no such file")
    safe_type = row["content_type"] if not row["content_type"].startswith(("text/html", "image/svg")) \
        else "application/octet-stream"
    headers = {
        "Content-Type": safe_type,
        "Content-Disposition": _disposition(name or file_id),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return web.FileResponse(path, headers=headers)


def _disposition(name: str) -> str:
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


ROUTES = [
    ApiRoute("POST", "/api/v1/leads", create_lead, "Enter a lead by hand (channel manual)", body=ManualLead,
             params=(Param("wait", type="boolean", description="wait for the lead and return it"),
                     Param("Idempotency-Key", where="header")),
             responses={201: "Lead created", 202: "Accepted, processing", 400: "Malformed", 401: "No token",
                        413: "Too large"}),
    ApiRoute("GET", "/api/v1/leads", journal, "The lead journal, newest first",
             params=(*FILTER_PARAMS, *PAGE_PARAMS, Param("count", type="boolean", description="add the filtered count"),
                     Param("sort", enum=("received", "score"), description="newest first, or best scored first")),
             responses={200: "OK", 400: "Bad filter or cursor"}),
    ApiRoute("GET", "/api/v1/leads/{id:[0-9]+}", get_lead, "One lead with contact, deal, attachments, conversation",
             params=(id_param(),), responses={200: "OK", 403: "Not yours", 404: "No such lead"}),
    ApiRoute("GET", "/api/v1/unsorted", unsorted, "The Unsorted queue, newest first",
             params=(Param("channel"), Param("source"), Param("q"), *PAGE_PARAMS)),
    ApiRoute("GET", "/api/v1/contacts", get_contacts, "Contacts by phone (any spelling) or e-mail",
             params=(Param("phone"), Param("email")), responses={200: "OK (no items without phone or email)"}),
    ApiRoute("GET", "/api/v1/deals/{id:[0-9]+}", get_deal, "A deal with its leads",
             params=(id_param(),), responses={200: "OK", 404: "None"}),
    ApiRoute("GET", "/api/v1/files/{id}", get_file, "An attachment or recording",
             params=(Param("id", where="path", required=True),), content="application/octet-stream",
             responses={200: "The file", 404: "No such file"}),
]
