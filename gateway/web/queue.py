"""The Unsorted queue and a lead's card: the page, its rows (live and paged), the card as a fragment or a page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.api.desk import unsorted_filters
from gateway.api.ids import path_id
from gateway.core.errors import NotFound
from gateway.http.keys import DB, SETTINGS
from gateway.store.journal import JournalFilters, count_leads, list_leads
from gateway.store.link_search import link_candidates
from gateway.store.schema import leads
from gateway.store.triage import Actor, check_operator, lead_row
from gateway.store.views import leads_json
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.cards import card_data, known_people
from gateway.web.render import render

__all__ = ["CHANNELS", "PAGE_SIZE", "candidates_fragment", "card_fragment", "lead_page", "row_fragment",
           "rows_fragment", "unsorted_page"]

CHANNELS = ("mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual")
PAGE_SIZE = 300


def _lead_id(request: web.Request) -> int:
    return path_id(request, what="lead")


def queue_rows(conn: Connection, filters: JournalFilters, cursor: str | None) -> dict[str, Any]:
    """One page of the queue with each person's mark (new, known, repeat, open deal), and the true count."""
    rows, next_cursor = list_leads(conn, filters, limit=PAGE_SIZE, cursor=cursor)
    items = leads_json(conn, rows)
    known = known_people(conn, rows)
    for item in items:
        item["known"] = known[item["id"]]
    return {"items": items, "next_cursor": next_cursor, "total": count_leads(conn, filters)}


@page()
async def unsorted_page(request: web.Request) -> web.StreamResponse:
    """The queue, newest first; new and taken items come and go by server-sent events."""
    filters = unsorted_filters(request.query, request.app[SETTINGS])
    since = (datetime.now(UTC) - timedelta(seconds=2)).isoformat()
    data = await request.app[DB].read(queue_rows, filters, None)
    channel = filters.channel[0] if filters.channel else None
    return render(request, "unsorted.html", **data, channel=channel, q=filters.q or "",
                  channels=CHANNELS, since=since, decline_reasons=request.app[SETTINGS].quality.decline_reasons,
                  **chrome(request))


@page()
async def rows_fragment(request: web.Request) -> web.StreamResponse:
    """The queue's next page of rows (the «show more» button)."""
    filters = unsorted_filters(request.query, request.app[SETTINGS])
    data = await request.app[DB].read(queue_rows, filters, request.query.get("cursor") or None)
    return render(request, "rows.html", **data, **chrome(request))


@page()
async def row_fragment(request: web.Request) -> web.StreamResponse:
    """One queue row (for a lead that appeared live); 404 when it is not in Unsorted any more."""
    lead_id = _lead_id(request)

    def run(conn: Connection) -> dict[str, Any] | None:
        row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
        if row is None or row["status"] != "unsorted":
            return None
        item = leads_json(conn, [dict(row)])[0]
        item["known"] = known_people(conn, [dict(row)])[lead_id]
        return item

    item = await request.app[DB].read(run)
    if item is None:
        raise NotFound("not in Unsorted")
    return render(request, "row.html", item=item, **chrome(request))


async def _card(request: web.Request) -> dict[str, Any]:
    show_html = request.query.get("html") == "1"
    remote = show_html and request.query.get("images") == "1"
    return await request.app[DB].read(card_data, _lead_id(request), Actor.of(request[PAGE_USER]),
                                      request.app[SETTINGS], show_html=show_html, remote_images=remote)


@page()
async def card_fragment(request: web.Request) -> web.StreamResponse:
    data = await _card(request)
    return render(request, "card.html", **data, standalone=False, **chrome(request))


@page()
async def lead_page(request: web.Request) -> web.StreamResponse:
    data = await _card(request)
    return render(request, "lead.html", message=request.query.get("error"), standalone=True,
                  **data, **chrome(request))


@page()
async def candidates_fragment(request: web.Request) -> web.StreamResponse:
    """Contacts and deals to link the lead to, found by what the operator typed, with the lead's hints."""
    lead_id, actor = _lead_id(request), Actor.of(request[PAGE_USER])
    q, region = request.query.get("q", "").strip(), request.app[SETTINGS].default_region

    def run(conn: Connection) -> list[dict[str, Any]]:
        check_operator(actor, lead_row(conn, lead_id))
        return link_candidates(conn, lead_id, q, region=region)

    items = await request.app[DB].read(run) if q else []
    return render(request, "candidates.html", items=items, q=q, **chrome(request))
