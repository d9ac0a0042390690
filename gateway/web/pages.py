"""The operators' pages: Unsorted, a lead's card, a deal, the journal, the event log, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.core.errors import NotFound, PayloadError
from gateway.http.keys import DB, SETTINGS
from gateway.store import event_log
from gateway.store.journal import JournalFilters, list_leads
from gateway.store.journal_view import journal_items
from gateway.store.schema import leads, sources, users
from gateway.store.triage import Actor
from gateway.store.views import deal_json, leads_json
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.board import formats
from gateway.web.cards import card_data, visible
from gateway.web.deal_formats import TASKS
from gateway.web.deal_work import deal_work
from gateway.web.health import health_report
from gateway.web.render import language, render

__all__ = ["card_fragment", "deal_page", "events_page", "health_page", "journal_page", "lead_page",
           "row_fragment", "unsorted_page"]

CHANNELS = ("mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual")
QUALITIES = ("target", "repeat", "non_target", "unverified")
STATUSES = ("unsorted", "accepted", "declined", "linked", "attached")


def _actor(request: web.Request) -> Actor:
    return Actor.of(request[PAGE_USER])


def _lead_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise NotFound("no such lead") from None


@page()
async def unsorted_page(request: web.Request) -> web.StreamResponse:
    """The queue, newest first; new and taken items come and go by server-sent events."""
    channel = request.query.get("channel") or None
    if channel is not None and channel not in CHANNELS:
        raise PayloadError("unknown channel")
    filters = JournalFilters(status=["unsorted"], channel=[channel] if channel else [])
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()

    def run(conn: Connection) -> list[dict[str, Any]]:
        rows, _ = list_leads(conn, filters, limit=300, cursor=None)
        return leads_json(conn, rows)

    items = await request.app[DB].read(run)
    return render(request, "unsorted.html", items=items, channel=channel, channels=CHANNELS, since=since,
                  decline_reasons=request.app[SETTINGS].quality.decline_reasons, **chrome(request))


@page()
async def row_fragment(request: web.Request) -> web.StreamResponse:
    """One queue row (for a lead that appeared live); 404 when it is not in Unsorted any more."""
    lead_id = _lead_id(request)

    def run(conn: Connection) -> dict[str, Any] | None:
        row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
        return leads_json(conn, [dict(row)])[0] if row is not None and row["status"] == "unsorted" else None

    item = await request.app[DB].read(run)
    if item is None:
        raise NotFound("not in Unsorted")
    return render(request, "row.html", item=item, **chrome(request))


async def _card(request: web.Request) -> dict[str, Any]:
    show_html = request.query.get("html") == "1"
    remote = show_html and request.query.get("images") == "1"
    return await request.app[DB].read(card_data, _lead_id(request), _actor(request), request.app[SETTINGS],
                                      show_html=show_html, remote_images=remote)


@page()
async def card_fragment(request: web.Request) -> web.StreamResponse:
    data = await _card(request)
    return render(request, "card.html", **data, **chrome(request))


@page()
async def lead_page(request: web.Request) -> web.StreamResponse:
    data = await _card(request)
    return render(request, "lead.html", message=request.query.get("error"), **data, **chrome(request))


@page()
async def deal_page(request: web.Request) -> web.StreamResponse:
    deal = await request.app[DB].read(deal_json, _lead_id(request))
    if deal is None:
        raise NotFound("no such deal")
    actor = _actor(request)
    if actor.role == "operator":
        rows = await request.app[DB].read(lambda c: [dict(r) for r in c.execute(
            select(leads).where(leads.c.deal_id == deal["id"])).mappings()])
        if not any(visible(actor, r) for r in rows) and deal["responsible"] != actor.name:
            raise NotFound("no such deal")
    work = await request.app[DB].read(deal_work, deal["id"], language(request))
    return render(request, "deal.html", deal=deal, work=work, fmt=formats(request), task_words=TASKS,
                  **chrome(request))


def _advertising(query: dict[str, str]) -> tuple[dict[str, str], str]:
    """The journal shows advertising leads unless its switch asks for the rest (false) or for all."""
    shown = query.pop("advertising", "true")
    shown = shown if shown in ("true", "false", "all") else "true"
    filters = dict(query) if shown == "all" else {**query, "advertising": shown}
    return filters, shown


@page()
async def journal_page(request: web.Request) -> web.StreamResponse:
    """The lead journal with the basic filters; the API's own filters work in the query too."""
    query = {k: v for k, v in request.query.items() if v and k not in ("cursor", "lang")}
    wanted, advertising = _advertising(dict(query))
    filters = JournalFilters.from_query(wanted)
    actor = _actor(request)
    if actor.role == "operator" and filters.status != ["unsorted"]:
        filters = filters.model_copy(update={"manager": [actor.name]})
    cursor = request.query.get("cursor") or None

    def run(conn: Connection) -> dict[str, Any]:
        rows, next_cursor = list_leads(conn, filters, limit=100, cursor=cursor)
        return {"items": journal_items(conn, rows, manager_mode=request.app[SETTINGS].access.journal_manager),
                "next_cursor": next_cursor,
                "sources": [r[0] for r in conn.execute(select(sources.c.name).order_by(sources.c.name))],
                "managers": [r[0] for r in conn.execute(select(users.c.name).order_by(users.c.name))]}

    data = await request.app[DB].read(run)
    settings = request.app[SETTINGS]
    can_export = actor.role == "admin" or (actor.role == "manager" and not settings.access.export_admin_only)
    export = {**wanted, **({"advertising": advertising} if advertising != "all" else {})}
    return render(request, "journal.html", query=query, channels=CHANNELS, qualities=QUALITIES, statuses=STATUSES,
                  can_export=can_export, export_query="&".join(f"{k}={v}" for k, v in export.items()),
                  advertising=advertising, fmt=formats(request), **data, **chrome(request))


@page("admin")
async def events_page(request: web.Request) -> web.StreamResponse:
    """Failed and dead events, each with a replay button."""
    status = request.query.get("status", "failed")
    if status not in ("failed", "dead", "pending"):
        raise PayloadError("status must be failed, dead or pending")
    rows = await request.app[DB].read(event_log.list_events, status=status, limit=200,
                                      cursor=request.query.get("cursor"))
    return render(request, "events.html", events=rows, event_status=status, **chrome(request))


@page("admin")
async def health_page(request: web.Request) -> web.StreamResponse:
    report = await request.app[DB].read(health_report, request.app[SETTINGS], datetime.now(UTC))
    return render(request, "health.html", report=report, **chrome(request))

