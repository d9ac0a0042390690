"""The outbox: every outbound job, written in the transaction that decided it.

Statuses: pending -> sending (claimed under a lease) -> done | pending again (retry later) | dead.
The lease is the row's `next_attempt_at` while it is `sending`: whoever claimed it records the
outcome only while that value is still theirs, so two processes never both perform a claimed job,
and a job whose performer died is claimed again when its lease runs out.

A job may carry an idempotency key: `(kind, key)` is unique, so deciding the same thing twice
(a replayed event, a repeated stage change) adds no second job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from gateway.config import Settings, WebhookSubscription
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.core.pipeline import PipelineResult
from gateway.store.dialect import insert_ignore
from gateway.store.event_log import new_event_id
from gateway.store.journal_view import journal_items
from gateway.store.raw_events import StoredEvent
from gateway.store.schema import leads, outbox
from gateway.store.views import deal_json

__all__ = [
    "EVENT_TYPES", "STATUSES", "Recorded", "backlog", "claim_due", "deal_event", "enqueue_job", "enqueue_webhook",
    "get_delivery", "jobs_for", "lead_event", "list_deliveries", "pipeline_hook", "record_outcomes", "replay",
    "subscriptions_for", "to_job",
]

Clock = Callable[[], datetime]
EVENT_TYPES = ("lead.created", "lead.accepted", "lead.declined", "lead.linked", "deal.created")
STATUSES = ("pending", "sending", "done", "dead")
WEBHOOK = "webhook"


def _now() -> datetime:
    return datetime.now(UTC)


def enqueue_job(conn: Connection, *, kind: str, target: str, event_type: str, payload: Mapping[str, Any],
                key: str | None = None, lead_id: int | None = None, deal_id: int | None = None,
                not_before: datetime | None = None, now: datetime | None = None,
                job_id: str | None = None) -> str | None:
    """One job in the caller's transaction; its id, or None when a job with this (kind, key) exists."""
    now = now or _now()
    job_id = job_id or ("msg_" if kind == WEBHOOK else "job_") + new_event_id()
    values = dict(id=job_id, kind=kind, target=target, key=key, event_type=event_type, payload=dict(payload),
                  lead_id=lead_id, deal_id=deal_id, status="pending", attempts=0,
                  next_attempt_at=not_before or now, created_at=now)
    if key is None:
        conn.execute(outbox.insert().values(**values))
        return job_id
    stmt = insert_ignore(conn, outbox, ["kind", "key"]).values(**values).returning(outbox.c.id)
    return conn.execute(stmt).scalar()


def jobs_for(conn: Connection, *, kind: str | None = None, lead_id: int | None = None,
             deal_id: int | None = None) -> list[dict[str, Any]]:
    """The jobs about one lead or deal (of one kind, when given), oldest first."""
    q = select(outbox)
    if kind is not None:
        q = q.where(outbox.c.kind == kind)
    if lead_id is not None:
        q = q.where(outbox.c.lead_id == lead_id)
    if deal_id is not None:
        q = q.where(outbox.c.deal_id == deal_id)
    return [dict(r) for r in conn.execute(q.order_by(outbox.c.id)).mappings()]


# --- webhooks: the subscriptions of the settings -------------------------------------------------
def subscriptions_for(settings: Settings, event_type: str) -> list[WebhookSubscription]:
    """The configured subscriptions that want `event_type` ("*" wants every event)."""
    return [s for s in settings.webhooks if event_type in s.events or "*" in s.events]


def enqueue_webhook(conn: Connection, settings: Settings, event_type: str, payload: dict[str, Any], *,
                    now: datetime | None = None, lead_id: int | None = None,
                    deal_id: int | None = None) -> list[str]:
    """One webhook job per subscription that wants the event, in the caller's transaction; their ids."""
    now = now or _now()
    ids = []
    for sub in subscriptions_for(settings, event_type):
        body = {"type": event_type, "timestamp": now.isoformat(), "data": payload}
        job_id = enqueue_job(conn, kind=WEBHOOK, target=sub.url, event_type=event_type, payload=body,
                             lead_id=lead_id, deal_id=deal_id, now=now)
        assert job_id is not None  # no key: always a new row
        ids.append(job_id)
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
    return enqueue_webhook(conn, settings, event_type, lead, now=now, lead_id=lead_id)


def deal_event(conn: Connection, settings: Settings, event_type: str, deal_id: int, *,
               now: datetime | None = None) -> list[str]:
    """Queue `event_type` (deal.created...) with the deal, its contact and its leads."""
    if not subscriptions_for(settings, event_type):
        return []
    deal = deal_json(conn, deal_id)
    return enqueue_webhook(conn, settings, event_type, deal, now=now, deal_id=deal_id) if deal is not None else []


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


# --- claiming and recording ------------------------------------------------------------------------
def to_job(row: Mapping[str, Any]) -> Job:
    return Job(id=row["id"], kind=row["kind"], target=row["target"], key=row["key"], payload=row["payload"],
               attempts=row["attempts"], state=row["state"] or {}, created_at=row["created_at"],
               lead_id=row["lead_id"], deal_id=row["deal_id"], event_type=row["event_type"],
               reclaimed=bool(row.get("reclaimed")))


def claim_due(conn: Connection, *, now: datetime, limit: int, lease_s: float,
              kinds: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Claim up to `limit` due jobs (of these kinds), or ones whose lease ran out; each carries its lease."""
    due = and_(outbox.c.status.in_(("pending", "sending")), outbox.c.next_attempt_at <= now)
    if kinds is not None:
        due = and_(due, outbox.c.kind.in_(list(kinds)))
    pick = select(outbox.c.id, outbox.c.status).where(due).order_by(outbox.c.next_attempt_at, outbox.c.id).limit(limit)
    if conn.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    picked = dict(conn.execute(pick).all())
    ids = list(picked)
    if not ids:
        return []
    lease = now + timedelta(seconds=lease_s)
    conn.execute(update(outbox).where(outbox.c.id.in_(ids), due).values(status="sending", next_attempt_at=lease))
    rows = conn.execute(select(outbox).where(outbox.c.id.in_(ids), outbox.c.status == "sending",
                                             outbox.c.next_attempt_at == lease)).mappings()
    return [dict(r) | {"lease": lease, "reclaimed": picked[r["id"]] == "sending"} for r in rows]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one attempt came to: the claimed row, its outcome, and when to try again (for a Retry)."""

    row: Mapping[str, Any]
    outcome: JobOutcome
    retry_in: float | None = None  # None for a counted Retry means the attempts are used up: dead


_RECORD = update(outbox).where(outbox.c.id == bindparam("_id"), outbox.c.status == "sending",
                               outbox.c.next_attempt_at == bindparam("_lease"))


def _values(rec: Recorded, now: datetime) -> dict[str, Any]:
    row, out = rec.row, rec.outcome
    v: dict[str, Any] = {"attempted_at": now, "last_status": out.status_code}
    counted = not (isinstance(out, Retry) and not out.count)
    v["attempts"] = row["attempts"] + (1 if counted else 0)
    if isinstance(out, Done):
        v.update(status="done", delivered_at=now, last_error=None, result=dict(out.result) if out.result else None)
    elif isinstance(out, Retry) and rec.retry_in is not None:
        v.update(status="pending", next_attempt_at=now + timedelta(seconds=rec.retry_in), last_error=out.error[:2000])
    else:
        assert isinstance(out, Retry | Dead)
        v.update(status="dead", last_error=out.error[:2000])
    if not isinstance(out, Done) and out.state is not None:
        v["state"] = dict(out.state)
    return v


def record_outcomes(conn: Connection, recorded: Sequence[Recorded], *, now: datetime) -> list[str | None]:
    """Record attempts while their leases are still ours; per job its new status, or None (lease lost)."""
    out: list[str | None] = []
    for rec in recorded:
        values = _values(rec, now)
        res = conn.execute(_RECORD.values(**values), {"_id": rec.row["id"], "_lease": rec.row["lease"]})
        out.append(values["status"] if res.rowcount == 1 else None)
    return out


# --- the delivery log ------------------------------------------------------------------------------
def list_deliveries(conn: Connection, *, status: str | None = None, event_type: str | None = None,
                    kind: str | None = WEBHOOK, limit: int = 50, cursor: str | None = None) -> list[dict[str, Any]]:
    """Jobs, newest first (their ids sort by time); webhooks unless another kind is asked for."""
    q = select(outbox)
    if kind:
        q = q.where(outbox.c.kind == kind)
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
    """Perform a done, dead or waiting job again with a fresh set of attempts (not one being performed now)."""
    res = conn.execute(update(outbox).where(outbox.c.id == delivery_id, or_(
        outbox.c.status.in_(("done", "dead", "pending")))).values(
        status="pending", next_attempt_at=now, attempts=0, delivered_at=None))
    return res.rowcount == 1


def backlog(conn: Connection, *, kind: str) -> dict[str, Any]:
    """Per target of a kind: jobs waiting, dead, the last success and the last error (for the health page)."""
    rows = conn.execute(
        select(outbox.c.target, outbox.c.status, func.count(), func.max(outbox.c.delivered_at))
        .where(outbox.c.kind == kind).group_by(outbox.c.target, outbox.c.status))
    out: dict[str, Any] = {}
    for target, status, n, delivered in rows:
        t = out.setdefault(target, {"waiting": 0, "dead": 0, "done": 0, "last_success_at": None})
        if status in ("pending", "sending"):
            t["waiting"] += int(n)
        else:
            t[status] = t.get(status, 0) + int(n)
        if delivered is not None and (t["last_success_at"] is None or delivered > t["last_success_at"]):
            t["last_success_at"] = delivered
    for target, t in out.items():
        last = conn.execute(
            select(outbox.c.last_error, outbox.c.attempted_at)
            .where(outbox.c.kind == kind, outbox.c.target == target, outbox.c.last_error.is_not(None))
            .order_by(outbox.c.attempted_at.desc()).limit(1)).first()
        t["last_error"], t["last_error_at"] = (last[0], last[1]) if last else (None, None)
    return out
