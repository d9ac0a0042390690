"""Taking back a decline a moment after it was made: the lead returns to Unsorted as it was.

The decline's audit row keeps what the lead was before (quality, reasons, manager) and what it
blocked; undoing restores exactly that, within a short window, and only for the person who declined.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from gateway.core.errors import Conflict, NotFound
from gateway.store.schema import audit_log, blocklist, leads
from gateway.store.triage import Actor, audit, lead_row

__all__ = ["UNDO_WINDOW", "undo_decline"]

UNDO_WINDOW = timedelta(seconds=60)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def undo_decline(conn: Connection, lead_id: int, actor: Actor, *, now: datetime) -> dict[str, Any]:
    """Back to Unsorted; Conflict when the lead is not the actor's fresh decline any more."""
    lead = lead_row(conn, lead_id)
    entry = conn.execute(select(audit_log).where(audit_log.c.lead_id == lead_id, audit_log.c.action == "lead.decline")
                         .order_by(audit_log.c.id.desc()).limit(1)).mappings().first()
    if entry is None:
        raise NotFound("the lead was not declined")
    if lead["status"] != "declined" or lead["taken_by"] != actor.id or entry["user_id"] != actor.id:
        raise Conflict("only a fresh decline of your own can be undone")
    if now - _aware(entry["at"]) > UNDO_WINDOW:
        raise Conflict("too late to undo: decide the lead again from the journal")
    data = entry["data"] or {}
    was = data.get("was") or {}
    res = conn.execute(update(leads).where(leads.c.id == lead_id, leads.c.status == "declined").values(
        status="unsorted", quality=was.get("quality", "unverified"), non_target_reason=was.get("non_target_reason"),
        manager_id=was.get("manager_id"), decline_reason=None, taken_by=None, taken_at=None, updated_at=now))
    if res.rowcount != 1:
        raise Conflict("the lead changed meanwhile")
    for kind in data.get("blocked") or []:
        value = lead["phone"] if kind == "phone" else lead["email"]
        conn.execute(delete(blocklist).where(blocklist.c.kind == kind, blocklist.c.value == value,
                                             blocklist.c.created_by == actor.id))
    audit(conn, actor, "lead.decline_undone", now, lead_id=lead_id, contact_id=lead["contact_id"])
    return {"ok": True, "lead_id": lead_id, "status": "unsorted"}
