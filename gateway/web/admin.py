"""Administrators' pages: the event log (paged, with «repeat all failed») and the health of connectors."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from gateway.core.errors import PayloadError
from gateway.http.keys import DB, SETTINGS
from gateway.store import event_log
from gateway.web.access import chrome, page
from gateway.web.health import health_report
from gateway.web.render import render

__all__ = ["events_page", "health_page"]

EVENT_PAGE = 50


@page("admin")
async def events_page(request: web.Request) -> web.StreamResponse:
    """Failed, dead or waiting events, a page at a time, each with its error in words and a repeat button."""
    status = request.query.get("status", "failed")
    if status not in ("failed", "dead", "pending"):
        raise PayloadError("status must be failed, dead or pending")
    cursor = request.query.get("cursor") or None
    rows = await request.app[DB].read(event_log.list_events, status=status, limit=EVENT_PAGE + 1, cursor=cursor)
    counts = await request.app[DB].read(event_log.count_by_status)
    next_cursor = rows[EVENT_PAGE - 1]["id"] if len(rows) > EVENT_PAGE else None
    return render(request, "events.html", events=rows[:EVENT_PAGE], event_status=status, counts=counts,
                  next_cursor=next_cursor, first_page=cursor is None, **chrome(request))


@page("admin")
async def health_page(request: web.Request) -> web.StreamResponse:
    report = await request.app[DB].read(health_report, request.app[SETTINGS], datetime.now(UTC))
    return render(request, "health.html", report=report, **chrome(request))
