"""The lead journal page (every filter the API has, Russian dates, the reader's scope said) and a deal's page."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.api.ids import path_id
from gateway.api.triage import triage_options
from gateway.core.errors import NotFound
from gateway.http.keys import DB, SETTINGS
from gateway.store.journal import JournalFilters, count_leads, list_leads
from gateway.store.journal_view import journal_items
from gateway.store.schema import leads, sources, users
from gateway.store.triage import Actor
from gateway.store.views import deal_json
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.cards import visible
from gateway.web.deal_work import deal_work
from gateway.web.formats import parse_day
from gateway.web.i18n import translator
from gateway.web.queue import CHANNELS
from gateway.web.render import language, render

__all__ = ["api_query", "deal_page", "journal_page", "page_filters"]

QUALITIES = ("target", "repeat", "non_target", "unverified")
STATUSES = ("unsorted", "accepted", "declined", "linked", "attached")
KINDS = ("call", "mail", "form", "chat", "manual")
DIRECTIONS = ("in", "out", "internal")
PAGE = 100


def page_filters(query: Any, settings: Any) -> tuple[dict[str, str], JournalFilters, list[str]]:
    """(the form's values, the filters, fields that could not be read): days typed as 31.12.2024."""
    form = {k: v.strip() for k, v in query.items() if v and v.strip() and k not in ("cursor", "lang")}
    data, bad = dict(form), []
    for key in ("from", "to"):
        if key in data:
            day = parse_day(data[key])
            if day is None:
                bad.append(key)
                data.pop(key)
            else:
                data[key] = day.isoformat()
    adv = data.pop("advertising", "true")  # the web journal shows advertising leads unless told otherwise
    if adv in ("true", "false"):
        data["advertising"] = adv
    return form, JournalFilters.from_query(data, settings), bad


def api_query(filters: JournalFilters, **extra: str) -> str:
    """The filters as the API's query string (ISO days, repeated parameters), for the file links."""
    data = filters.model_dump(by_alias=True, exclude_defaults=True, mode="json")
    return urlencode({**data, **extra}, doseq=True)


def _choices(conn: Connection, settings: Any) -> dict[str, Any]:
    src = conn.execute(select(sources.c.name, sources.c.group_name).order_by(sources.c.name)).all()
    people = conn.execute(select(users.c.name, users.c.full_name, users.c.department, users.c.disabled)
                          .order_by(users.c.disabled, users.c.full_name, users.c.name)).mappings().all()
    return {"sources": [s for s, _ in src], "source_groups": sorted({g for _, g in src if g}),
            "managers": [dict(p) for p in people], "departments": sorted({p["department"] for p in people
                                                                          if p["department"]}),
            "pipelines": triage_options(conn, settings)["pipelines"]}


@page()
async def journal_page(request: web.Request) -> web.StreamResponse:
    """The lead journal; operators see Unsorted and their own leads, and the page says so."""
    settings = request.app[SETTINGS]
    form, filters, bad = page_filters(request.query, settings)
    actor = Actor.of(request[PAGE_USER])
    if actor.role == "operator":
        filters = filters.model_copy(update={"visible_to": actor.id})
    cursor = request.query.get("cursor") or None

    def run(conn: Connection) -> dict[str, Any]:
        rows, next_cursor = list_leads(conn, filters, limit=PAGE, cursor=cursor)
        return {"items": journal_items(conn, rows, manager_mode=filters.manager_mode), "next_cursor": next_cursor,
                "total": count_leads(conn, filters), **_choices(conn, settings)}

    data = await request.app[DB].read(run)
    t = translator(language(request))
    data["managers"] = [(m["name"], (m["full_name"] or m["name"]) + (f" ({t('dismissed')})" if m["disabled"] else ""))
                        for m in data["managers"]]
    can_export = actor.role == "admin" or (actor.role == "manager" and not settings.access.export_admin_only)
    return render(request, "journal.html", form=form, bad=bad, filters=filters, qualities=QUALITIES,
                  statuses=STATUSES, kinds=KINDS, channels=CHANNELS, directions=DIRECTIONS, can_export=can_export,
                  export_query=api_query(filters), first_page=cursor is None,
                  page_query=urlencode(form), scope="own" if actor.role == "operator" else "all", **data,
                  **chrome(request))


@page()
async def deal_page(request: web.Request) -> web.StreamResponse:
    deal_id = path_id(request, what="deal")
    deal = await request.app[DB].read(deal_json, deal_id)
    if deal is None:
        raise NotFound("no such deal")
    actor = Actor.of(request[PAGE_USER])
    if actor.role == "operator":
        rows = await request.app[DB].read(lambda c: [dict(r) for r in c.execute(
            select(leads).where(leads.c.deal_id == deal["id"])).mappings()])
        if not any(visible(actor, r) for r in rows) and deal["responsible"] != actor.name:
            raise NotFound("no such deal")
    work = await request.app[DB].read(deal_work, deal["id"], language(request))
    return render(request, "deal.html", deal=deal, work=work, **chrome(request))
