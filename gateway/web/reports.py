"""The reports page inside the operators' page: filters, charts drawn on the server, the table, the files."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.core.errors import PayloadError
from gateway.export.report import GROUPS, REPORT_COLUMNS, leads_report
from gateway.export.svgchart import bar_chart, stacked_bar_chart
from gateway.http.keys import DB, SETTINGS
from gateway.web.access import PAGE_USER, chrome, page
from gateway.web.i18n import translator
from gateway.web.journal import api_query, page_filters
from gateway.web.render import formats_for, render

__all__ = ["reports_page"]

TOP = 15


def _charts(report: dict[str, Any], t: Any, number: Any) -> list[str]:
    items = report["items"][:TOP]
    quality = stacked_bar_chart(
        [(i["label"], [i["target"], i["repeat"], i["non_target"], i["unverified"]]) for i in items],
        [t("quality.target"), t("quality.repeat"), t("quality.non_target"), t("quality.unverified")],
        title=t("Leads by quality"), width=760, number=number)
    conversion = bar_chart([(i["label"], round(100 * i["conversion"], 1)) for i in items],
                           title=t("Conversion to a deal, %"), unit=" %", width=760, number=number)
    charts = [quality, conversion]
    if any(i["missed"] for i in items):
        charts.append(bar_chart([(i["label"], i["missed"]) for i in items if i["missed"]],
                                title=t("Missed calls"), width=760, color="#b3261e", number=number))
    return charts


@page("admin", "manager", refusal="Reports are for managers and administrators")
async def reports_page(request: web.Request) -> web.StreamResponse:
    form, filters, bad = page_filters(request.query, request.app[SETTINGS])
    group_by = request.query.get("group_by", "source")
    if group_by not in GROUPS:
        raise PayloadError(f"group_by must be one of {', '.join(GROUPS)}")
    report = await request.app[DB].read(leads_report, filters, group_by)
    fmt = formats_for(request, request[PAGE_USER])
    charts = _charts(report, translator(fmt.lang), lambda v: fmt.decimal(v, 1))
    files = {"report_csv": "/api/v1/reports/leads?" + api_query(filters, group_by=group_by, format="csv"),
             "leads_csv": "/api/v1/leads/export?" + api_query(filters, format="csv"),
             "leads_xlsx": "/api/v1/leads/export?" + api_query(filters, format="xlsx")}
    return render(request, "reports.html", report=report, charts=charts, form=form, bad=bad, group_by=group_by,
                  groups=GROUPS, columns=REPORT_COLUMNS, files=files,
                  calltracking=bool(request.app[SETTINGS].calltracking.sites), **chrome(request))
