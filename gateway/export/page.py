"""A minimal, self-contained report page: a filter form, SVG charts, the table, links to the files."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any
from urllib.parse import urlencode

from gateway.export.report import GROUPS, REPORT_COLUMNS
from gateway.export.svgchart import bar_chart, stacked_bar_chart

__all__ = ["report_page"]

GROUP_TITLES = {"source": "источник", "source_group": "группа источников", "called_number": "номер, на который звонили",
                "channel": "канал", "manager": "менеджер", "department": "отдел", "quality": "качество",
                "status": "статус", "kind": "вид", "direction": "направление"}
TOP = 15


def _form(query: Mapping[str, str]) -> str:
    group = query.get("group_by", "source")
    options = "".join(f'<option value="{g}"{" selected" if g == group else ""}>{escape(GROUP_TITLES[g])}</option>'
                      for g in GROUPS)
    adv = query.get("advertising", "")
    adv_options = "".join(f'<option value="{v}"{" selected" if v == adv else ""}>{t}</option>'
                          for v, t in (("", "все"), ("true", "рекламные"), ("false", "нерекламные")))
    return (f'<form method="get" action="/reports"><label>С <input type="date" name="from" '
            f'value="{escape(query.get("from", ""))}"></label> <label>по <input type="date" name="to" '
            f'value="{escape(query.get("to", ""))}"></label> <label>Группировать: <select name="group_by">{options}'
            f'</select></label> <label>Лиды: <select name="advertising">{adv_options}</select></label> '
            f'<button type="submit">Показать</button></form>')


def _charts(report: dict[str, Any]) -> str:
    items = report["items"][:TOP]
    quality = stacked_bar_chart([(i["label"], [i["target"], i["repeat"], i["non_target"], i["unverified"]])
                                 for i in items], ["целевые", "повторные", "нецелевые", "непроверенные"],
                                title="Лиды по качеству", width=760)
    conversion = bar_chart([(i["label"], round(100 * i["conversion"], 1)) for i in items],
                           title="Конверсия в сделку, %", unit=" %", width=760)
    missed = bar_chart([(i["label"], i["missed"]) for i in items if i["missed"]],
                       title="Пропущенные звонки", width=760, color="#d9534f")
    return f"<figure>{quality}</figure><figure>{conversion}</figure><figure>{missed}</figure>"


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if key == "conversion":
        return f"{100 * value:.1f} %"
    if key == "median_callback_s":
        return f"{value:.0f}"
    return escape(str(value))


def _table(report: dict[str, Any]) -> str:
    head = "".join(f"<th>{escape(title)}</th>" for _, title in REPORT_COLUMNS)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(k, i[k])}</td>" for k, _ in REPORT_COLUMNS) + "</tr>"
                   for i in [*report["items"], report["totals"]])
    return (f'<table border="1" cellpadding="4" cellspacing="0"><thead><tr>{head}</tr></thead>'
            f'<tbody>{rows}</tbody></table>')


def report_page(report: dict[str, Any], query: Mapping[str, str]) -> str:
    """The whole page as HTML (charts inline, no script)."""
    filters = {k: v for k, v in query.items() if v}
    csv = "/api/v1/reports/leads?" + urlencode({**filters, "format": "csv"})
    journal = {k: v for k, v in filters.items() if k != "group_by"}
    links = (f'<p><a href="{escape(csv)}">Отчёт в CSV</a> · '
             f'<a href="{escape("/api/v1/leads/export?" + urlencode({**journal, "format": "csv"}))}">Лиды в CSV</a> · '
             f'<a href="{escape("/api/v1/leads/export?" + urlencode({**journal, "format": "xlsx"}))}">Лиды в XLSX</a>'
             '</p>')
    title = f"Отчёт по лидам: {GROUP_TITLES.get(report['group_by'], report['group_by'])}"
    return ("<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>{_form(query)}{links}"
            f"{_charts(report)}{_table(report)}</body></html>")
