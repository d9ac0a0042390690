"""A user's own settings on the page: the name others see and the time zone their times are shown in."""

from __future__ import annotations

from aiohttp import web

from gateway.core.errors import PermissionDenied
from gateway.http.keys import DB, SETTINGS
from gateway.web.access import PAGE_CSRF, PAGE_USER, chrome, page
from gateway.web.formats import zone_choices
from gateway.web.people import save_preferences
from gateway.web.render import render
from gateway.web.sessions import csrf_ok

__all__ = ["preferences_page", "save_preferences_form"]


@page()
async def preferences_page(request: web.Request) -> web.StreamResponse:
    return render(request, "preferences.html", zones=zone_choices(), saved=request.query.get("saved") == "1",
                  company_zone=request.app[SETTINGS].timezone,
                  **chrome(request))


@page()
async def save_preferences_form(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    if not csrf_ok(request[PAGE_CSRF], str(form.get("csrf", ""))):
        raise PermissionDenied("missing or wrong CSRF token")
    await request.app[DB].write(save_preferences, int(request[PAGE_USER]["id"]),
                                full_name=str(form.get("full_name", "")), timezone=str(form.get("timezone", "")))
    raise web.HTTPSeeOther("/settings?saved=1")
