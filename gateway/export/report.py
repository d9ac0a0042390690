"""The leads report: journal counts grouped by source, number called, channel, manager, quality or status, or by
the visit's UTM campaign, source / medium or keyword (forms carry them, and so do calls matched by call tracking)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, FromClause, and_, case, func, or_, select

from gateway.export.columns import LABELS
from gateway.store.journal import JournalFilters, journal_query
from gateway.store.journal_view import MISSED_RESULTS
from gateway.store.schema import deals, leads, sources, users

__all__ = ["GROUPS", "REPORT_COLUMNS", "leads_report"]

GROUPS = ("source", "source_group", "called_number", "channel", "manager", "department", "quality", "status",
          "kind", "direction", "utm_campaign", "utm_source_medium", "utm_term")
COUNTS = ("total", "target", "repeat", "non_target", "unverified", "with_deal", "won", "missed")
REPORT_COLUMNS = (("label", "Группа"), ("total", "Всего"), ("target", "Целевые"), ("repeat", "Повторные"),
                  ("non_target", "Нецелевые"), ("unverified", "Непроверенные"), ("with_deal", "Со сделкой"),
                  ("conversion", "Конверсия в сделку"), ("won", "Успешные сделки"),
                  ("conversion_won", "Конверсия в успешные"), ("missed", "Пропущенные звонки"),
                  ("median_callback_s", "Медиана времени перезвона, с"))
_SHOWN_DEAL = deals.alias("shown_deal")
_SHOWN_USER = users.alias("shown_user")
_SOURCE = sources.alias("report_source")
_WON = select(deals.c.id).where(deals.c.status == "won")


def _key(group_by: str, manager_mode: str) -> tuple[Any, Any]:
    """(the group's key expression, the FROM clause it needs)."""
    base: FromClause = leads
    if group_by in ("source", "source_group"):
        base = leads.outerjoin(_SOURCE, _SOURCE.c.id == leads.c.source_id)
        return (_SOURCE.c.name if group_by == "source" else _SOURCE.c.group_name), base
    if group_by in ("manager", "department"):
        who = (func.coalesce(leads.c.manager_id, _SHOWN_DEAL.c.responsible_id) if manager_mode == "taken"
               else func.coalesce(_SHOWN_DEAL.c.responsible_id, leads.c.manager_id))
        base = leads.outerjoin(_SHOWN_DEAL, _SHOWN_DEAL.c.id == leads.c.deal_id).outerjoin(
            _SHOWN_USER, _SHOWN_USER.c.id == who)
        return (_SHOWN_USER.c.name if group_by == "manager" else _SHOWN_USER.c.department), base
    if group_by == "called_number":
        return leads.c.call["line"].as_string(), base
    if group_by in ("utm_campaign", "utm_term"):
        return leads.c.utm[group_by].as_string(), base
    if group_by == "utm_source_medium":
        tag_source, medium = leads.c.utm["utm_source"].as_string(), leads.c.utm["utm_medium"].as_string()
        both = func.coalesce(tag_source, "—") + " / " + func.coalesce(medium, "—")
        return case((and_(tag_source.is_(None), medium.is_(None)), None), else_=both), base
    return leads.c[group_by], base


def _missed() -> Any:
    call_in = and_(leads.c.kind == "call", leads.c.direction == "in")
    return and_(call_in, or_(leads.c.result.in_(sorted(MISSED_RESULTS)), leads.c.needs_callback.is_(True),
                             leads.c.callback_at.is_not(None)))


def _counted(key: Any, base: Any, f: JournalFilters, conn: Connection) -> Any:
    def n(cond: Any) -> Any:
        return func.sum(case((cond, 1), else_=0))

    cols = (key.label("key"), func.count().label("total"), n(leads.c.quality == "target").label("target"),
            n(leads.c.quality == "repeat").label("repeat"), n(leads.c.quality == "non_target").label("non_target"),
            n(leads.c.quality == "unverified").label("unverified"),
            n(leads.c.deal_id.is_not(None)).label("with_deal"), n(leads.c.deal_id.in_(_WON)).label("won"),
            n(_missed()).label("missed"))
    return journal_query(f, conn, columns=cols).select_from(base).group_by(key)


def _label(group_by: str, key: Any) -> str:
    if key is None:
        return "—"
    return LABELS.get(group_by, {}).get(str(key), str(key))


def _row(group_by: str, key: Any, counts: dict[str, int], waits: list[int]) -> dict[str, Any]:
    total = counts["total"]
    return {"key": key, "label": _label(group_by, key), **counts,
            "conversion": round(counts["with_deal"] / total, 4) if total else 0.0,
            "conversion_won": round(counts["won"] / total, 4) if total else 0.0,
            "median_callback_s": statistics.median(waits) if waits else None}


def leads_report(conn: Connection, f: JournalFilters, group_by: str) -> dict[str, Any]:
    """Each group with its target / repeat / non-target counts, conversion to deals and to won deals, missed calls,
    callback time."""
    key, base = _key(group_by, f.manager_mode)
    rows = conn.execute(_counted(key, base, f, conn)).mappings().all()
    waits: dict[Any, list[int]] = defaultdict(list)
    q = journal_query(f, conn, columns=(key.label("key"), leads.c.time_to_callback_s)).select_from(base)
    for k, wait in conn.execute(q.where(leads.c.time_to_callback_s.is_not(None))):
        waits[k].append(int(wait))
    items = [_row(group_by, r["key"], {c: int(r[c] or 0) for c in COUNTS}, waits.get(r["key"], [])) for r in rows]
    items.sort(key=lambda i: (-i["total"], i["label"]))
    totals = {c: sum(i[c] for i in items) for c in COUNTS}
    every_wait = [w for ws in waits.values() for w in ws]
    return {"group_by": group_by, "manager_mode": f.manager_mode, "items": items,
            "totals": _row(group_by, "all", totals, every_wait) | {"label": "Итого"}}
