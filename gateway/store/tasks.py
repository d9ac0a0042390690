"""Tasks (задачи): a manager's to-do list, each on a deal or a lead, with a due time and, once done, a result.

A task with no responsible waits in the operators' common queue. Tasks a machine decides (a missed
call's callback, a trigger's task) carry a `key`, unique, so that deciding it twice adds nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select, true, tuple_, update

from gateway.core.errors import NotFound, PayloadError, PermissionDenied
from gateway.store.dialect import insert_ignore_once
from gateway.store.schema import deals, tasks, users

__all__ = ["complete_callbacks", "complete_task", "create_task", "list_tasks", "nearest_tasks", "open_tasks_of",
           "task_json", "tasks_json"]

CALLBACK_DONE = "Перезвонили"


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ts.isoformat()  # stored times read back aware, in UTC


def create_task(conn: Connection, *, text: str, due_at: datetime, created_by: str, now: datetime,
                responsible_id: int | None = None, deal_id: int | None = None, lead_id: int | None = None,
                key: str | None = None, kind: str = "task") -> int | None:
    """A new open task; its id, or None when a task with this key exists already."""
    values = dict(key=key, kind=kind, text=text[:4096], responsible_id=responsible_id, due_at=due_at,
                  status="open", deal_id=deal_id, lead_id=lead_id, created_by=created_by[:160], created_at=now)
    found = conn.execute(insert_ignore_once(conn, tasks, ["key"], tasks.c.id), values).scalar()
    return None if found is None else int(found)


def _row(conn: Connection, task_id: int) -> dict[str, Any]:
    row = conn.execute(select(tasks).where(tasks.c.id == task_id)).mappings().first()
    if row is None:
        raise NotFound("no such task")
    return dict(row)


def complete_task(conn: Connection, task_id: int, *, by: str, user_id: int | None, role: str, result: str | None,
                  now: datetime) -> tuple[dict[str, Any], bool]:
    """Mark a task done with its result; (the task, whether it was done already)."""
    row = _row(conn, task_id)
    if role == "operator" and row["responsible_id"] not in (None, user_id):
        raise PermissionDenied("operators complete their own tasks and the common queue's")
    done = conn.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == "open").values(
        status="done", result=result, completed_at=now, completed_by=by[:160]))
    return _row(conn, task_id), done.rowcount == 0


def complete_callbacks(conn: Connection, lead_ids: Sequence[int], at: datetime) -> int:
    """The callback tasks of these missed calls are done: somebody got through to the number."""
    if not lead_ids:
        return 0
    res = conn.execute(update(tasks).where(
        tasks.c.lead_id.in_(list(lead_ids)), tasks.c.kind == "callback", tasks.c.status == "open",
    ).values(status="done", result=CALLBACK_DONE, completed_at=at, completed_by="callback"))
    return int(res.rowcount)


# --- reading ---------------------------------------------------------------------------------------
def tasks_json(conn: Connection, rows: Sequence[dict[str, Any]], *,
               now: datetime | None = None) -> list[dict[str, Any]]:
    """Tasks as the API shows them (responsible names looked up once for all)."""
    ids = {r["responsible_id"] for r in rows if r["responsible_id"] is not None}
    names: dict[int, str] = dict(conn.execute(select(users.c.id, users.c.name).where(users.c.id.in_(ids))).all()) \
        if ids else {}
    now = now or datetime.now(UTC)
    return [{"id": r["id"], "text": r["text"], "kind": r["kind"], "responsible": names.get(r["responsible_id"]),
             "due_at": _iso(r["due_at"]), "status": r["status"], "result": r["result"], "deal_id": r["deal_id"],
             "lead_id": r["lead_id"], "created_by": r["created_by"], "created_at": _iso(r["created_at"]),
             "completed_at": _iso(r["completed_at"]), "completed_by": r["completed_by"],
             "overdue": r["status"] == "open" and r["due_at"] < now} for r in rows]


def task_json(conn: Connection, task_id: int) -> dict[str, Any]:
    return tasks_json(conn, [_row(conn, task_id)])[0]


def open_tasks_of(conn: Connection, deal_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Each deal's open tasks, soonest first."""
    ids = sorted(set(deal_ids))
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = [dict(r) for r in conn.execute(select(tasks).where(tasks.c.deal_id.in_(ids), tasks.c.status == "open")
                                          .order_by(tasks.c.due_at, tasks.c.id)).mappings()]
    for task in tasks_json(conn, rows):
        out[task["deal_id"]].append(task)
    return out


def nearest_tasks(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per lead (rows with id and deal_id): its nearest open task, on the lead itself or on its deal."""
    lead_ids = [r["id"] for r in rows]
    deal_ids = sorted({r["deal_id"] for r in rows if r.get("deal_id")})
    if not lead_ids:
        return {}
    cond = or_(tasks.c.lead_id.in_(lead_ids), *([tasks.c.deal_id.in_(deal_ids)] if deal_ids else []))
    found = conn.execute(select(tasks.c.id, tasks.c.text, tasks.c.due_at, tasks.c.lead_id, tasks.c.deal_id)
                         .where(tasks.c.status == "open", cond).order_by(tasks.c.due_at, tasks.c.id)).mappings()
    by_lead: dict[int, dict[str, Any]] = {}
    by_deal: dict[int, dict[str, Any]] = {}
    for t in found:
        item = {"id": t["id"], "text": t["text"], "due_at": _iso(t["due_at"])}
        if t["lead_id"] is not None:
            by_lead.setdefault(t["lead_id"], item)
        if t["deal_id"] is not None:
            by_deal.setdefault(t["deal_id"], item)
    out = {}
    for r in rows:
        mine, deal = by_lead.get(r["id"]), by_deal.get(r["deal_id"]) if r.get("deal_id") else None
        best = min((t for t in (mine, deal) if t is not None), key=lambda t: t["due_at"] or "", default=None)
        if best is not None:
            out[r["id"]] = best
    return out


def _cursor(due: datetime, task_id: int) -> str:
    raw = f"{due.astimezone(UTC).isoformat()}|{task_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _after(cursor: str) -> Any:
    try:
        due, task_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return tuple_(tasks.c.due_at, tasks.c.id) > tuple_(datetime.fromisoformat(due), int(task_id))
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("bad cursor") from None


def list_tasks(conn: Connection, *, responsible: list[int | None] | None = None, status: str | None = None,
               overdue: bool = False, deal_id: int | None = None, lead_id: int | None = None,
               now: datetime, limit: int = 50, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Tasks soonest due first (so the overdue ones lead); `responsible` None in the list is the common queue."""
    conds: list[Any] = []
    if responsible is not None:
        named = [r for r in responsible if r is not None]
        who = [tasks.c.responsible_id.in_(named)] if named else []
        if None in responsible:
            who.append(tasks.c.responsible_id.is_(None))
        conds.append(or_(*who))
    if status:
        conds.append(tasks.c.status == status)
    if overdue:
        conds += [tasks.c.status == "open", tasks.c.due_at < now]
    if deal_id is not None:
        conds.append(tasks.c.deal_id == deal_id)
    if lead_id is not None:
        conds.append(tasks.c.lead_id == lead_id)
    if cursor:
        conds.append(_after(cursor))
    q = select(tasks).where(and_(true(), *conds)).order_by(tasks.c.due_at, tasks.c.id).limit(limit + 1)
    rows = [dict(r) for r in conn.execute(q).mappings()]
    next_cursor = _cursor(rows[limit - 1]["due_at"], rows[limit - 1]["id"]) if len(rows) > limit else None
    return tasks_json(conn, rows[:limit], now=now), next_cursor


def open_count(conn: Connection, deal_ids: Sequence[int]) -> dict[int, int]:
    """How many open tasks each deal has."""
    if not deal_ids:
        return {}
    return dict(conn.execute(select(tasks.c.deal_id, func.count()).where(
        tasks.c.deal_id.in_(list(deal_ids)), tasks.c.status == "open").group_by(tasks.c.deal_id)).all())


def deal_responsible(conn: Connection, deal_id: int) -> int | None:
    return conn.execute(select(deals.c.responsible_id).where(deals.c.id == deal_id)).scalar()
