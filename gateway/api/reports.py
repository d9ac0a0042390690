"""Reports, exports and the outbound webhook log: the routes this part adds to the application."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from multidict import MultiDict

from gateway.api import exports
from gateway.api.body import json_response
from gateway.api.leads import FILTER_PARAMS, page_limit
from gateway.api.spec import ApiRoute, Param
from gateway.config import Settings
from gateway.core.errors import NotFound, PayloadError
from gateway.export.report import GROUPS, REPORT_COLUMNS, leads_report
from gateway.export.writers import BOM, SEPARATORS
from gateway.http.keys import DB, SETTINGS
from gateway.store import outbox
from gateway.store.journal import JournalFilters

__all__ = ["extend"]

_DELIVERY_ID = re.compile(r"(msg|job)_[0-9a-f]{8,28}")


def _report_args(request: web.Request) -> tuple[JournalFilters, str]:
    """The report's filters: the journal's, counting advertising leads unless `advertising=all` (or false)."""
    group_by = request.query.get("group_by", "source")
    if group_by not in GROUPS:
        raise PayloadError(f"group_by must be one of {', '.join(GROUPS)}")
    query = MultiDict(request.query)
    advertising = query.pop("advertising", "true")
    if advertising != "all":
        query["advertising"] = advertising
    return JournalFilters.from_query(query, request.app[SETTINGS]), group_by


def _report_csv(report: dict[str, Any], sep: str) -> bytes:
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=SEPARATORS[sep], lineterminator="\r\n")
    out.writerow([title for _, title in REPORT_COLUMNS])
    for item in [*report["items"], report["totals"]]:
        out.writerow(["" if item[k] is None else item[k] for k, _ in REPORT_COLUMNS])
    return BOM + buf.getvalue().encode()


async def report_leads(request: web.Request) -> web.Response:
    f, group_by = _report_args(request)
    report = await request.app[DB].read(leads_report, f, group_by)
    if request.query.get("format", "json") == "csv":
        sep = request.query.get("sep", ",")
        if sep not in SEPARATORS:
            raise PayloadError("sep must be one of , ; tab")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return web.Response(body=_report_csv(report, sep), headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="report-{group_by}-{stamp}.csv"'})
    if request.query.get("format", "json") != "json":
        raise PayloadError("format must be json or csv")
    return json_response(report)


def _delivery_json(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}
    out["subscription"] = out["target"]  # a webhook's target is its subscription's URL
    return out


def _plain_text(value: str | None, name: str) -> str | None:
    if value is not None and ("\x00" in value or len(value) > 200):
        raise PayloadError(f"{name}: a short text is expected")
    return value


async def list_deliveries(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status is not None and status not in outbox.STATUSES:
        raise PayloadError(f"status must be one of {', '.join(outbox.STATUSES)}")
    limit = page_limit(request)
    event_type = _plain_text(request.query.get("event_type"), "event_type")
    cursor = _plain_text(request.query.get("cursor"), "cursor")
    rows = await request.app[DB].read(outbox.list_deliveries, status=status, event_type=event_type, limit=limit + 1,
                                      cursor=cursor)
    next_cursor = rows[limit - 1]["id"] if len(rows) > limit else None
    return json_response({"items": [_delivery_json(r) for r in rows[:limit]], "next_cursor": next_cursor})


async def replay_delivery(request: web.Request) -> web.Response:
    delivery_id = request.match_info["id"]
    if not _DELIVERY_ID.fullmatch(delivery_id) or await request.app[DB].read(outbox.get_delivery, delivery_id) is None:
        raise NotFound("no such delivery")
    if not await request.app[DB].write(outbox.replay, delivery_id, now=datetime.now(UTC)):
        raise PayloadError("the delivery is being sent right now")
    row = await request.app[DB].read(outbox.get_delivery, delivery_id)
    return json_response({"ok": True, "delivery": _delivery_json(row or {})})


REPORT_PARAMS = (Param("group_by", enum=GROUPS), Param("format", enum=("json", "csv")),
                 Param("sep", enum=(",", ";", "tab")),
                 *(Param("advertising", description="true (the default): advertising leads; all, or false: "
                         "every lead, or the others (any case)") if p.name == "advertising" else p
                   for p in FILTER_PARAMS))


def extend(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """Reports, exports, the webhook delivery log."""
    routes = [
        *exports.ROUTES,
        ApiRoute("GET", "/api/v1/reports/leads", report_leads, "Leads grouped: quality, conversion to deals, "
                 "missed calls, median time to callback", roles=("admin", "manager"), params=REPORT_PARAMS,
                 other_content=("text/csv",),
                 responses={200: "The report (JSON, or CSV with format=csv)", 400: "Bad filter"}, tag="reports"),
        ApiRoute("GET", "/api/v1/webhooks/deliveries", list_deliveries, "Outbound webhook deliveries, newest first",
                 roles=("admin",), params=(Param("status", enum=outbox.STATUSES), Param("event_type"),
                                           Param("limit", type="integer", minimum=1, maximum=500), Param("cursor")),
                 responses={200: "OK", 400: "Bad status"}, tag="webhooks"),
        ApiRoute("POST", "/api/v1/webhooks/deliveries/{id}/replay", replay_delivery,
                 "Send a delivery again (fresh attempts)", roles=("admin",),
                 params=(Param("id", where="path", required=True),),
                 responses={200: "Queued again", 400: "Being sent now", 404: "No such delivery"}, tag="webhooks"),
    ]
    return routes
