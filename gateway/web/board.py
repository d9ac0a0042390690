"""The deal board: a pipeline's stages as columns of deal cards, moved by drag or by keyboard, loaded in pages."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import Connection, select

from gateway.api.body import json_response
from gateway.http.keys import DB, SETTINGS
from gateway.store.deal_filters import DealFilters
from gateway.store.deal_list import board, column, column_totals
from gateway.store.schema import pipelines, stages, users
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.deal_words import plural_forms
from gateway.web.i18n import translator
from gateway.web.render import formats_for, language, render

__all__ = ["board_page", "cards_fragment", "column_totals_json"]

PER_COLUMN = 30
_KEPT = ("pipeline", "responsible", "tag", "q")


def _filters(request: web.Request) -> tuple[DealFilters, dict[str, str]]:
    """The board's filters from the query (an operator's board holds their own deals); the query to keep."""
    kept = {k: v for k in _KEPT if (v := request.query.get(k, "").strip())}
    f = DealFilters.from_query({k: v for k, v in kept.items() if k != "pipeline"}, request.app[SETTINGS])
    user = request[PAGE_USER]
    if user["role"] == "operator":
        f = f.model_copy(update={"responsible": [user["name"]]})
    return f, kept


def _choices(conn: Connection) -> dict[str, Any]:
    return {"managers": list(conn.execute(select(users.c.name).where(users.c.disabled.is_(False))
                                          .order_by(users.c.name)).scalars())}


@page()
async def board_page(request: web.Request) -> web.StreamResponse:
    f, kept = _filters(request)

    def run(conn: Connection) -> dict[str, Any]:
        return {"board": board(conn, kept.get("pipeline"), f, per_column=PER_COLUMN), **_choices(conn)}

    data = await request.app[DB].read(run)
    return render(request, "board.html", query=kept, **data, **chrome(request))


@page()
async def cards_fragment(request: web.Request) -> web.StreamResponse:
    """The next page of one column's cards; the page after it is named in the X-Next-Cursor header."""
    f, kept = _filters(request)
    page_of = await request.app[DB].read(column, kept.get("pipeline"), request.query.get("stage", ""), f,
                                         limit=PER_COLUMN, cursor=request.query.get("cursor"))
    resp = render(request, "board_cards.html", deals=page_of["deals"], **chrome(request))
    if page_of["next_cursor"]:
        resp.headers["X-Next-Cursor"] = page_of["next_cursor"]
    return resp


@page()
async def column_totals_json(request: web.Request) -> web.StreamResponse:
    """Each column's totals in the reader's words (after a move, the board shows them again)."""
    f, kept = _filters(request)
    fmt, words = formats_for(request, request[PAGE_USER]), plural_forms(translator(language(request)), "deals")

    def run(conn: Connection) -> dict[str, dict[str, str]]:
        q = select(pipelines.c.id).order_by(pipelines.c.position, pipelines.c.id).limit(1)
        pipeline_id = conn.execute(q.where(pipelines.c.name == kept["pipeline"]) if "pipeline" in kept else q).scalar()
        totals = column_totals(conn, int(pipeline_id or 0), f)
        out: dict[str, dict[str, str]] = {}
        for stage in conn.execute(select(stages.c.id, stages.c.name).where(stages.c.pipeline_id == pipeline_id)
                                  ).mappings():
            count, budget = totals.get(stage["id"], (0, 0.0))
            out[stage["name"]] = {"count": fmt.plural(count, words), "budget": fmt.money(budget) if budget else ""}
        return out

    return json_response(await request.app[DB].read(run))
