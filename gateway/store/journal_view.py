"""Journal rows as managers see them: the lead, plus its title, type, stage, department."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from gateway.store.schema import deals, pipelines, sources, stages, users
from gateway.store.tasks import nearest_tasks
from gateway.store.views import leads_json

__all__ = ["LEAD_TYPES", "MISSED_RESULTS", "journal_items", "lead_type"]

MISSED_RESULTS = frozenset({"missed", "busy", "rejected", "unavailable", "no_answer"})
LEAD_TYPES = {
    "incoming_call": "Входящий звонок", "missed_call": "Пропущенный звонок", "outgoing_call": "Исходящий звонок",
    "internal_call": "Внутренний звонок", "form": "Заявка с сайта", "mail": "Письмо",
    "outgoing_mail": "Исходящее письмо", "chat": "Чат", "manual": "Создан менеджером",
}


def lead_type(kind: str, direction: str, result: str | None, missed: bool = False) -> str:
    """How the lead came: a call to a manager, a missed call, a form, a mail, a chat, by hand."""
    if kind == "call":
        if direction == "internal":
            return "internal_call"
        if direction == "out":
            return "outgoing_call"
        return "missed_call" if missed or result in MISSED_RESULTS else "incoming_call"
    if kind == "mail":
        return "outgoing_mail" if direction == "out" else "mail"
    return kind if kind in LEAD_TYPES else "manual"


def _lookup(conn: Connection, table: Any, ids: set[Any], *cols: Any) -> dict[int, Any]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {r[0]: r for r in conn.execute(select(table.c.id, *cols).where(table.c.id.in_(ids)))}


def journal_items(conn: Connection, rows: Sequence[dict[str, Any]], *,
                  manager_mode: str = "taken") -> list[dict[str, Any]]:
    """`leads_json` with the journal's columns: title, type, department, source group, the deal's stage, the nearest
    open task (on the lead or its deal)."""
    items = leads_json(conn, rows, manager_mode=manager_mode)
    deal = _lookup(conn, deals, {r["deal_id"] for r in rows}, deals.c.pipeline_id, deals.c.stage_id, deals.c.tags)
    stage_ids = {r["stage_id"] for r in rows} | {d.stage_id for d in deal.values()}
    stage = _lookup(conn, stages, stage_ids, stages.c.name, stages.c.pipeline_id)
    pipe = _lookup(conn, pipelines, {s.pipeline_id for s in stage.values()}, pipelines.c.name)
    group = _lookup(conn, sources, {r["source_id"] for r in rows}, sources.c.group_name)
    names = {i["manager"] for i in items if i["manager"]}
    dept = {r.name: r.department for r in conn.execute(
        select(users.c.name, users.c.department).where(users.c.name.in_(names)))} if names else {}
    nearest = nearest_tasks(conn, rows)
    for item, row in zip(items, rows, strict=True):
        d = deal.get(row["deal_id"]) if row["deal_id"] else None
        st = stage.get(d.stage_id if d is not None else row["stage_id"])
        item["title"] = item["deal_name"] or item["phone"] or item["name"] or item["email"] or item["subject"]
        item["type"] = lead_type(row["kind"], row["direction"], row["result"],
                                 missed=bool(row["needs_callback"] or row["callback_at"]))
        item["stage"] = st.name if st is not None else None
        item["pipeline"] = pipe[st.pipeline_id].name if st is not None and st.pipeline_id in pipe else None
        item["department"] = dept.get(item["manager"])
        item["source_group"] = group[row["source_id"]].group_name if row["source_id"] in group else None
        item["deal_tags"] = list(d.tags or []) if d is not None else []
        item["nearest_task"] = nearest.get(row["id"])
    return items
