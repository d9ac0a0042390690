"""Journal rows for the export: the journal's columns only, built from a narrow select (no attachments, no JSON
the file does not show), so that a million rows go out fast. The same values as `journal_items` gives the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from gateway.store.journal_view import lead_type
from gateway.store.schema import deals, leads, pipelines, sources, stages, users
from gateway.store.tasks import nearest_tasks

__all__ = ["EXPORT_COLUMNS", "export_items"]

EXPORT_COLUMNS = tuple(leads.c[n] for n in (
    "id", "received_at", "deal_id", "stage_id", "manager_id", "source_id", "phone", "name", "email", "subject", "text",
    "kind", "direction", "result", "needs_callback", "callback_at", "quality", "channel", "status", "advertising",
    "duration_s", "recording_file_id", "tags", "utm", "score", "score_details",
))


def _lookup(conn: Connection, *cols: Any, ids: set[Any]) -> dict[Any, Any]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    key = cols[0]
    return {r[0]: r for r in conn.execute(select(*cols).where(key.in_(ids)))}


def export_items(conn: Connection, rows: Sequence[dict[str, Any]], *,
                 manager_mode: str = "taken") -> list[dict[str, Any]]:
    """Light journal items (the keys the export's columns read), for rows selected with EXPORT_COLUMNS."""
    deal = _lookup(conn, deals.c.id, deals.c.name, deals.c.responsible_id, deals.c.stage_id,
                   ids={r["deal_id"] for r in rows})
    stage = _lookup(conn, stages.c.id, stages.c.name, stages.c.pipeline_id,
                    ids={r["stage_id"] for r in rows} | {d.stage_id for d in deal.values()})
    pipe = _lookup(conn, pipelines.c.id, pipelines.c.name, ids={s.pipeline_id for s in stage.values()})
    src = _lookup(conn, sources.c.id, sources.c.name, sources.c.group_name, ids={r["source_id"] for r in rows})
    usr = _lookup(conn, users.c.id, users.c.name, users.c.department,
                  ids={r["manager_id"] for r in rows} | {d.responsible_id for d in deal.values()})
    nearest = nearest_tasks(conn, rows)
    out = []
    for r in rows:
        d = deal.get(r["deal_id"])
        taken = usr.get(r["manager_id"])
        responsible = usr.get(d.responsible_id) if d is not None else None
        shown = (taken or responsible) if manager_mode == "taken" else (responsible or taken)
        st = stage.get(d.stage_id if d is not None else r["stage_id"])
        s = src.get(r["source_id"])
        out.append({
            **r, "title": (d.name if d is not None else None) or r["phone"] or r["name"] or r["email"] or r["subject"],
            "stage": st.name if st is not None else None,
            "pipeline": pipe[st.pipeline_id].name if st is not None and st.pipeline_id in pipe else None,
            "type": lead_type(r["kind"], r["direction"], r["result"],
                              missed=bool(r["needs_callback"] or r["callback_at"])),
            "recording": f"/api/v1/files/{r['recording_file_id']}" if r["recording_file_id"] else None,
            "source": s.name if s is not None else None, "source_group": s.group_name if s is not None else None,
            "manager": shown.name if shown is not None else None,
            "manager_taken": taken.name if taken is not None else None,
            "manager_responsible": responsible.name if responsible is not None else None,
            "department": shown.department if shown is not None else None,
            "nearest_task": nearest.get(r["id"]),
        })
    return out
