"""A missed incoming call is somebody's task: "Перезвонить", due within the configured minutes.

Whose: the responsible of the contact's open deal; else the owner of the line that was called; else the
operators' common queue. The task is keyed by the call's lead, so processing the call again adds nothing;
an answered call with that number later completes it (`tasks.complete_callbacks`, from the pipeline).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, select

from gateway.config import Settings
from gateway.store.schema import deals, leads, users
from gateway.store.tasks import create_task

__all__ = ["callback_task"]


# built once: a missed call's task is made while the calls keep coming
_LINE_OWNER = select(users.c.id).where(users.c.name == bindparam("name"), users.c.disabled.is_(False))
_OPEN = select(deals.c.id, deals.c.responsible_id).where(deals.c.status == "open")
_OPEN_DEAL = _OPEN.where(deals.c.id == bindparam("deal_id"))
_NEWEST_OPEN_DEAL = _OPEN.where(deals.c.contact_id == bindparam("contact_id")) \
    .order_by(deals.c.updated_at.desc(), deals.c.id.desc()).limit(1)
_CALL = select(leads.c.needs_callback, leads.c.received_at, leads.c.call, leads.c.deal_id, leads.c.contact_id) \
    .where(leads.c.id == bindparam("lead_id"))


def _owner(conn: Connection, settings: Settings, line: str | None) -> int | None:
    name = settings.tasks.line_owners.get(line or "")
    if not name:
        return None
    return conn.execute(_LINE_OWNER, {"name": name}).scalar()


def _open_deal(conn: Connection, deal_id: int | None, contact_id: int | None) -> tuple[int, int | None] | None:
    """(deal id, its responsible): the lead's own deal while it is open, else the contact's newest open one."""
    if deal_id is not None:
        row = conn.execute(_OPEN_DEAL, {"deal_id": deal_id}).first()
        if row is not None:
            return int(row[0]), row[1]
    if contact_id is None:
        return None
    row = conn.execute(_NEWEST_OPEN_DEAL, {"contact_id": contact_id}).first()
    return None if row is None else (int(row[0]), row[1])


def callback_task(conn: Connection, settings: Settings, lead_id: int, now: datetime) -> int | None:
    """The missed call's "Перезвонить" task (once per call); its id, or None when it exists or is not needed."""
    lead = conn.execute(_CALL, {"lead_id": lead_id}).mappings().first()
    if lead is None or not lead["needs_callback"]:
        return None
    deal = _open_deal(conn, lead["deal_id"], lead["contact_id"])
    responsible = deal[1] if deal is not None else None
    if responsible is None:
        responsible = _owner(conn, settings, (lead["call"] or {}).get("line"))
    called = lead["received_at"]
    return create_task(conn, key=f"callback:lead:{lead_id}", kind="callback", text=settings.tasks.callback_text,
                       due_at=(called + timedelta(minutes=settings.tasks.callback_minutes)).astimezone(UTC),
                       responsible_id=responsible, deal_id=deal[0] if deal else None, lead_id=lead_id,
                       created_by="missed_call", now=now)
