"""Handing deals to another manager, with their leads or without them; a leaving manager's open work.

With its leads, a deal's leads are "taken" by the new manager too, and the journal shows one manager
in both of its modes. Without them, the leads keep the manager who took them: the journal's "taken"
mode shows that one and its "responsible" mode the new one, and flags the difference. Either way the
deal's open tasks that were the old responsible's go with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Connection, select, update

from gateway.core.errors import Conflict, NotFound, PayloadError
from gateway.core.ids import Id
from gateway.store.deals import Cause, deal_for_update, record, user_id_of
from gateway.store.schema import deals, leads, tasks, users, web_sessions

__all__ = ["DisableRequest", "HandoverRequest", "disable_user", "hand_over"]


class HandoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    to: str = Field(min_length=1, max_length=128)
    with_leads: StrictBool = False
    ids: list[Id] | None = Field(default=None, min_length=1, max_length=1000)  # the bulk route's deals


class DisableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handover_to: str | None = Field(default=None, min_length=1, max_length=128)
    with_leads: StrictBool = False


def _name(conn: Connection, user_id: int | None) -> str | None:
    return None if user_id is None else conn.execute(select(users.c.name).where(users.c.id == user_id)).scalar()


def hand_over(conn: Connection, deal_ids: Sequence[int], to: str, *, with_leads: bool, cause: Cause,
              now: datetime) -> list[dict[str, Any]]:
    """Each deal to `to`; per deal what moved: {id, from, to, leads, tasks, version}."""
    to_id = user_id_of(conn, to, "to")
    out = []
    for deal_id in dict.fromkeys(deal_ids):
        row = deal_for_update(conn, deal_id)
        old = row["responsible_id"]
        version = row["version"] + (old != to_id)
        if old != to_id:
            conn.execute(update(deals).where(deals.c.id == deal_id).values(
                responsible_id=to_id, version=version, updated_at=now))
        moved_tasks = conn.execute(update(tasks).where(
            tasks.c.deal_id == deal_id, tasks.c.status == "open", tasks.c.responsible_id == old,
        ).values(responsible_id=to_id)).rowcount if old is not None and old != to_id else 0
        moved_leads = conn.execute(update(leads).where(leads.c.deal_id == deal_id).values(
            manager_id=to_id, updated_at=now)).rowcount if with_leads else 0
        record(conn, cause, "deal.handover", now, deal_id=deal_id, before=_name(conn, old), after=to,
               with_leads=with_leads, leads=moved_leads, tasks=moved_tasks, version=version)
        out.append({"id": deal_id, "from": _name(conn, old), "to": to, "leads": moved_leads, "tasks": moved_tasks,
                    "version": version})
    return out


def _another_active_admin(conn: Connection, user_id: int) -> bool:
    return conn.execute(select(users.c.id).where(
        users.c.role == "admin", users.c.disabled.is_(False), users.c.id != user_id).limit(1)).first() is not None


def disable_user(conn: Connection, name: str, req: DisableRequest, cause: Cause, *,
                 now: datetime) -> dict[str, Any]:
    """Disable a user (their web sessions end); with `handover_to`, their open deals and open tasks go to that user."""
    row = conn.execute(select(users.c.id, users.c.role, users.c.disabled).where(users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user {name!r}")
    user_id = row.id
    if row.role == "admin" and not row.disabled and not _another_active_admin(conn, user_id):
        raise Conflict(f"{name} is the only active admin: add or enable another admin first "
                       "(gateway user add NAME --role admin), then disable this one")
    if req.handover_to == name:
        raise PayloadError("handover_to: hand the work to somebody else")
    out: dict[str, Any] = {"ok": True, "name": name, "deals": [], "tasks": 0}
    if req.handover_to is not None:
        open_deals: list[int] = list(conn.execute(select(deals.c.id).where(
            deals.c.responsible_id == user_id, deals.c.status == "open").order_by(deals.c.id)).scalars())
        out["deals"] = hand_over(conn, open_deals, req.handover_to, with_leads=req.with_leads, cause=cause, now=now)
        out["tasks"] = sum(d["tasks"] for d in out["deals"]) + conn.execute(update(tasks).where(
            tasks.c.responsible_id == user_id, tasks.c.status == "open",
        ).values(responsible_id=user_id_of(conn, req.handover_to, "handover_to"))).rowcount
    conn.execute(update(users).where(users.c.id == user_id).values(disabled=True))
    conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))
    record(conn, cause, "user.disable", now, user=name, handover_to=req.handover_to, deals=len(out["deals"]),
           tasks=out["tasks"])
    return out
