"""The operators' web page: pages, fragments, static files, cookie sessions, live updates."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from gateway.api import desk
from gateway.api.body import json_response
from gateway.api.spec import ApiRoute, Param
from gateway.config import Settings
from gateway.http.keys import DB, EXTRAS, LEADS_CHANGED, SETTINGS
from gateway.web import admin, board, calltracking_page, journal, login, preferences, queue, reports, tasks_page, team
from gateway.web.health import health_report
from gateway.web.live import HUB, LiveHub, hub_of, live_stream
from gateway.web.render import JINJA, add_security_headers, make_environment
from gateway.web.sessions import session_auth
from gateway.web.throttle import LoginThrottle

__all__ = ["extend"]

STATIC = Path(__file__).parent / "static"


async def health(request: web.Request) -> web.Response:
    return json_response(await request.app[DB].read(health_report, request.app[SETTINGS], datetime.now(UTC)))


async def _close_live(app: web.Application) -> None:
    await hub_of(app).close()


def extend(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """Register the page routes and the cookie session; return the documented API routes of the page."""
    app[JINJA] = make_environment()
    app[EXTRAS]["session_auth"] = session_auth
    hub = LiveHub(interval=settings.dispatch.live_poll_seconds)
    app[EXTRAS][HUB] = hub
    app[LEADS_CHANGED].append(hub.nudge)
    app[EXTRAS][login.THROTTLE] = LoginThrottle(time.monotonic)
    app.on_response_prepare.append(add_security_headers)
    app.on_shutdown.append(_close_live)
    app.router.add_static("/static", STATIC, append_version=False)
    for method, path, handler in (
        ("GET", "/", queue.unsorted_page),
        ("GET", "/login", login.login_form),
        ("POST", "/login", login.login_submit),
        ("POST", "/logout", login.logout),
        ("GET", "/leads/{id}", queue.lead_page),
        ("GET", "/deals", board.board_page),
        ("GET", "/deals/{id}", journal.deal_page),
        ("GET", "/tasks", tasks_page.tasks_page),
        ("GET", "/admin/users", team.team_page),
        ("GET", "/ui/deals/cards", board.cards_fragment),
        ("GET", "/ui/deals/totals", board.column_totals_json),
        ("GET", "/journal", journal.journal_page),
        ("GET", "/reports", reports.reports_page),
        ("GET", "/calltracking", calltracking_page.calltracking_page),
        ("GET", "/settings", preferences.preferences_page),
        ("POST", "/settings", preferences.save_preferences_form),
        ("GET", "/admin/events", admin.events_page),
        ("GET", "/admin/health", admin.health_page),
        ("GET", "/ui/unsorted/rows", queue.rows_fragment),
        ("GET", "/ui/leads/{id}/row", queue.row_fragment),
        ("GET", "/ui/leads/{id}/card", queue.card_fragment),
        ("GET", "/ui/leads/{id}/candidates", queue.candidates_fragment),
        ("POST", "/ui/leads/{id:[0-9]+}/{action}", login.form_action),
    ):
        app.router.add_route(method, path, handler)
    return [
        *desk.ROUTES,
        ApiRoute("GET", "/api/v1/live", live_stream,
                 "Server-sent events: `leads` with the ids and statuses of leads that changed",
                 params=(Param("since", description="ISO time: only changes from then on"),),
                 content="text/event-stream", tag="operators"),
        ApiRoute("GET", "/api/v1/health", health,
                 "Connectors' last events and errors, mailboxes' last polls, sources gone silent",
                 roles=("admin",), tag="operations"),
    ]
