"""Export over HTTP: the journal or deals as CSV or XLSX, streamed page by page as they are produced."""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from datetime import UTC, datetime

import structlog
from aiohttp import web

from gateway.api.auth import current_user
from gateway.api.leads import FILTER_PARAMS
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import PayloadError, PermissionDenied
from gateway.export.deal_list import DealFilters
from gateway.export.exporter import Export, csv_chunks, deal_export, lead_export, xlsx_chunks
from gateway.export.writers import SEPARATORS
from gateway.http.keys import DB, SETTINGS
from gateway.store.journal import JournalFilters

__all__ = ["ROUTES"]

log = structlog.get_logger(__name__)
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _format(request: web.Request) -> tuple[str, str]:
    fmt = request.query.get("format", "csv")
    sep = request.query.get("sep", ",")
    if fmt not in FORMATS:
        raise PayloadError("format must be csv or xlsx")
    if sep not in SEPARATORS:
        raise PayloadError("sep must be one of , ; tab")
    return fmt, sep


def _allowed(request: web.Request) -> None:
    if request.app[SETTINGS].access.export_admin_only and current_user(request)["role"] != "admin":
        raise PermissionDenied("exports are for administrators only")


def _headers(name: str, fmt: str) -> dict[str, str]:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return {
        "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else XLSX_TYPE,
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
    }


async def _next(gen: Generator[bytes]) -> bytes | None:
    return await asyncio.get_running_loop().run_in_executor(None, next, gen, None)


async def _stream(request: web.Request, gen: Generator[bytes], name: str, fmt: str) -> web.StreamResponse:
    """Send the chunks as they are produced; a failing query fails on the first one, before the status is sent."""
    sent = 0
    try:
        chunk = await _next(gen)
        resp = web.StreamResponse(headers=_headers(name, fmt))
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        while chunk is not None:
            if chunk:
                await resp.write(chunk)
                sent += len(chunk)
            chunk = await _next(gen)
        await resp.write_eof()
    finally:
        try:
            gen.close()
        except ValueError:  # still running in its thread (the client left): it is closed when collected
            log.info("export.abandoned", what=name, format=fmt, bytes=sent)
    log.info("export.sent", what=name, format=fmt, bytes=sent)
    return resp


def _chunks(export: Export, fmt: str, sep: str) -> Generator[bytes]:
    return csv_chunks(export, sep) if fmt == "csv" else xlsx_chunks(export)


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def export_leads(request: web.Request) -> web.StreamResponse:
    _allowed(request)
    fmt, sep = _format(request)
    f = JournalFilters.from_query(request.query, request.app[SETTINGS])
    export = lead_export(request.app[DB].engine, f, base_url=_base_url(request))
    return await _stream(request, _chunks(export, fmt, sep), "leads", fmt)


async def export_deals(request: web.Request) -> web.StreamResponse:
    _allowed(request)
    fmt, sep = _format(request)
    f = DealFilters.from_query(request.query, request.app[SETTINGS])
    export = deal_export(request.app[DB].engine, f)
    return await _stream(request, _chunks(export, fmt, sep), "deals", fmt)


def _params() -> tuple[Param, ...]:
    return (Param("format", enum=FORMATS, description="csv (UTF-8 with BOM) or xlsx"),
            Param("sep", enum=(",", ";", "tab"), description="CSV separator"), *FILTER_PARAMS,
            Param("sort", enum=("received", "score")))


DEAL_PARAMS = (
    Param("format", enum=FORMATS), Param("sep", enum=(",", ";", "tab")), Param("from", description="created from"),
    Param("to", description="created until, inclusive"), Param("pipeline"), Param("stage"), Param("responsible"),
    Param("status", description="open, won, lost"), Param("tag"),
)

ROUTES = [
    ApiRoute("GET", "/api/v1/leads/export", export_leads, "The journal as a file, with the journal's filters",
             roles=("admin", "manager"), params=_params(), content="text/csv", other_content=(XLSX_TYPE,),
             responses={200: "The file, streamed", 400: "Bad filter"}, tag="exports"),
    ApiRoute("GET", "/api/v1/deals/export", export_deals, "Deals as a file", roles=("admin", "manager"),
             params=DEAL_PARAMS, content="text/csv", other_content=(XLSX_TYPE,),
             responses={200: "The file, streamed", 400: "Bad filter"},
             tag="exports"),
]
