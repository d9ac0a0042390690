"""Export over HTTP: the journal or deals as CSV (streamed page by page) or XLSX (built, then streamed)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import structlog
from aiohttp import web

from gateway.api.auth import current_user
from gateway.api.leads import FILTER_PARAMS
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import PayloadError, PermissionDenied
from gateway.export.deal_list import DealFilters
from gateway.export.exporter import Export, csv_chunks, deal_export, lead_export, temp_path, write_xlsx
from gateway.export.writers import SEPARATORS
from gateway.http.keys import DB, SETTINGS
from gateway.store.journal import JournalFilters

__all__ = ["ROUTES"]

log = structlog.get_logger(__name__)
FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK = 256 * 1024


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


async def _next(gen: Iterator[bytes]) -> bytes | None:
    return await asyncio.get_running_loop().run_in_executor(None, next, gen, None)


async def _stream_csv(request: web.Request, export: Export, sep: str, name: str) -> web.StreamResponse:
    gen = csv_chunks(export, sep)
    rows = 0
    try:
        first = await _next(gen)  # the header; a failing query fails here, before the status is sent
        resp = web.StreamResponse(headers=_headers(name, "csv"))
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        chunk = first
        while chunk is not None:
            await resp.write(chunk)
            rows += chunk.count(b"\n")
            chunk = await _next(gen)
        await resp.write_eof()
    finally:
        gen.close()
    log.info("export.sent", what=name, format="csv", lines=rows)
    return resp


async def _stream_xlsx(request: web.Request, export: Export, name: str) -> web.StreamResponse:
    path = temp_path(".xlsx")
    try:
        await asyncio.to_thread(write_xlsx, export, path)
        resp = web.StreamResponse(headers=_headers(name, "xlsx"))
        resp.content_length = path.stat().st_size
        await resp.prepare(request)
        with path.open("rb") as fh:
            while chunk := await asyncio.to_thread(fh.read, CHUNK):
                await resp.write(chunk)
        await resp.write_eof()
    finally:
        path.unlink(missing_ok=True)
    log.info("export.sent", what=name, format="xlsx", size=resp.content_length)
    return resp


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def export_leads(request: web.Request) -> web.StreamResponse:
    _allowed(request)
    fmt, sep = _format(request)
    f = JournalFilters.from_query(request.query, request.app[SETTINGS])
    export = lead_export(request.app[DB].engine, f, base_url=_base_url(request))
    if fmt == "csv":
        return await _stream_csv(request, export, sep, "leads")
    return await _stream_xlsx(request, export, "leads")


async def export_deals(request: web.Request) -> web.StreamResponse:
    _allowed(request)
    fmt, sep = _format(request)
    f = DealFilters.from_query(request.query, request.app[SETTINGS])
    export = deal_export(request.app[DB].engine, f)
    if fmt == "csv":
        return await _stream_csv(request, export, sep, "deals")
    return await _stream_xlsx(request, export, "deals")


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
             roles=("admin", "manager"), params=_params(), content="text/csv",
             responses={200: "The file, streamed", 400: "Bad filter"}, tag="exports"),
    ApiRoute("GET", "/api/v1/deals/export", export_deals, "Deals as a file", roles=("admin", "manager"),
             params=DEAL_PARAMS, content="text/csv", responses={200: "The file, streamed", 400: "Bad filter"},
             tag="exports"),
]
