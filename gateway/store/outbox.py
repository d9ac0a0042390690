"""The outbox of outbound webhooks: one row per (event, subscription), written in the caller's transaction.

Statuses: pending -> sending (claimed under a lease) -> done | pending again (retry later) | dead.
The lease is the row's `next_attempt_at` while it is `sending`: whoever claimed it records the
outcome only while that value is still theirs, so two processes never both deliver a claimed row,
and a row whose sender died is claimed again when its lease runs out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from gateway.config import Settings, WebhookSubscription
from gateway.core.pipeline import PipelineResult
from gateway.store.event_log import new_event_id
from gateway.store.journal_view import journal_items
from gateway.store.raw_events import StoredEvent
from gateway.store.schema import leads, outbox
from gateway.store.views import deal_json

__all__ = [
    "EVENT_TYPES", "STATUSES", "claim_due", "deal_event", "enqueue", "get_delivery", "lead_event", "list_deliveries",
    "pipeline_hook", "record_outcome", "replay", "subscriptions_for",
]

Clock = Callable[[], datetime]
EVENT_TYPES = ("lead.created", "lead.accepted", "lead.declined", "lead.linked", "deal.created")
STATUSES = ("pending", "sending", "done", "dead")


def _now() -> datetime:
    return datetime.now(UTC)


def subscriptions_for(settings: Settings, event_type: str) -> list[WebhookSubscription]:
    """The configured subscriptions that want `event_type` ("*" wants every event)."""
    return [s for s in settings.webhooks if event_type in s.events or "*" in s.events]


def enqueue(conn: Connection, settings: Settings, event_type: str, payload: dict[str, Any], *,
            now: datetime | None = None) -> list[str]:
    """One outbox row per subscription that wants the event, in the caller's transaction; their ids."""
    now = now or _now()
    ids = []
    for sub in subscriptions_for(settings, event_type):
        msg_id = "msg_" + new_event_id()
        body = {"type": event_type, "timestamp": now.isoformat(), "data": payload}
        conn.execute(insert(outbox).values(
            id=msg_id, subscription=sub.url, event_type=event_type, payload=body, status="pending", attempts=0,
            next_attempt_at=now, created_at=now))
        ids.append(msg_id)
    return ids


def lead_event(conn: Connection, settings: Settings, event_type: str, lead_id: int, *,
               now: datetime | None = None) -> list[str]:
    """Queue `event_type` (lead.created, lead.accepted, lead.declined...) with the lead as the journal shows it."""
    if not subscriptions_for(settings, event_type):
        return []
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if row is None:
        return []
    [lead] = journal_items(conn, [dict(row)], manager_mode=settings.access.journal_manager)
    return enqueue(conn, settings, event_type, lead, now=now)


def deal_event(conn: Connection, settings: Settings, event_type: str, deal_id: int, *,
               now: datetime | None = None) -> list[str]:
    """Queue `event_type` (deal.created...) with the deal, its contact and its leads."""
    if not subscriptions_for(settings, event_type):
        return []
    deal = deal_json(conn, deal_id)
    return enqueue(conn, settings, event_type, deal, now=now) if deal is not None else []


def pipeline_hook(settings: Settings, clock: Clock = _now) -> Callable[[Connection, PipelineResult, StoredEvent], None]:
    """What the processor calls inside its transaction: lead.created and deal.created go to the outbox."""
    def hook(conn: Connection, result: PipelineResult, event: StoredEvent) -> None:
        now = clock()
        for event_type, object_id in result.events:
            if event_type.startswith("deal."):
                deal_event(conn, settings, event_type, object_id, now=now)
            else:
                lead_event(conn, settings, event_type, object_id, now=now)

    return hook


def claim_due(conn: Connection, *, now: datetime, limit: int, lease_s: float) -> list[dict[str, Any]]:
    """Claim up to `limit` rows that are due (or whose sender's lease ran out); each carries its lease."""
    due = and_(outbox.c.status.in_(("pending", "sending")), outbox.c.next_attempt_at <= now)
    pick = select(outbox.c.id).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = list(conn.execute(pick).scalars())
    if not ids:
        return []
    lease = now + timedelta(seconds=lease_s)
    conn.execute(update(outbox).where(outbox.c.id.in_(ids), due).values(status="sending", next_attempt_at=lease))
    rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "sending",
                                             outbox.c.next_attempt_at == lease)).mappings()
    return [dict(r) | {"lease": lease} for r in rows]


def record_outcome(conn: Connection, row: dict[str, Any], *, now: datetime, ok: bool, status_code: int | None,
                   error: str | None, retry_in: float | None) -> str | None:
    """Record one attempt while the lease is still ours: done, pending again after `retry_in`, or dead (None)."""
    attempts = row["attempts"] + 1
    if ok:
        values: dict[str, Any] = {"status": "done", "delivered_at": now, "last_error": None}
    elif retry_in is None:
        values = {"status": "dead", "last_error": (error or "")[:2000]}
    else:
        values = {"status": "pending", "next_attempt_at": now + timedelta(seconds=retry_in),
                  "last_error": (error or "")[:2000]}
    values.update(attempts=attempts, last_status=status_code)
    res = conn.execute(update(outbox).where(outbox.c.id == row["id"], outbox.c.status == "sending",
                                            outbox.c.next_attempt_at == row["lease"]).values(**values))
    return values["status"] if res.rowcount == 1 else None


def list_deliveries(conn: Connection, *, status: str | None = None, event_type: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> list[dict[str, Any]]:
    """Outbox rows, newest first (their ids sort by time)."""
    q = select(outbox)
    if status:
        q = q.where(outbox.c.status == status)
    if event_type:
        q = q.where(outbox.c.event_type == event_type)
    if cursor:
        q = q.where(outbox.c.id < cursor)
    return [dict(r) for r in conn.execute(q.order_by(outbox.c.id.desc()).limit(limit)).mappings()]


def get_delivery(conn: Connection, delivery_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(outbox).where(outbox.c.id == delivery_id)).mappings().first()
    return dict(row) if row else None


def replay(conn: Connection, delivery_id: str, *, now: datetime) -> bool:
    """Send a delivered or dead row again, with a fresh set of attempts (not one being sent right now)."""
    res = conn.execute(update(outbox).where(outbox.c.id == delivery_id, or_(
        outbox.c.status.in_(("done", "dead", "pending")))).values(
        status="pending", next_attempt_at=now, attempts=0, delivered_at=None))
    return res.rowcount == 1
