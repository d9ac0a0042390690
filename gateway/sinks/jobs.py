"""When a lead goes to a sink, decided in the transaction that stored it: one delivery job per sink and lead.

A lead is delivered once it is complete (a call after its summary; a chat, a mail, a form at once)
and only to the sinks whose settings take its channel, pipeline and direction. Later messages of the
same conversation become note jobs for the same remote record. Jobs carry idempotency keys, so
deciding again (a replayed event, the same lead updated) adds nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.config.sinks import SinkSettings
from gateway.store import outbox
from gateway.store.deliveries import SINK_DELIVERY
from gateway.store.schema import leads, messages, pipelines
from gateway.store.schema import outbox as outbox_table

__all__ = ["DELIVERY", "NOTE", "complete", "job_kind", "lead_key", "retry_delivery", "sync_lead", "takes"]

DELIVERY = SINK_DELIVERY
NOTE = "sink.note"
PREFIX = "sink:"


def job_kind(name: str) -> str:
    """Each sink is a kind of its own: its own slots, so a slow or rate-limited sink holds up no other."""
    return PREFIX + name


def lead_key(lead_id: int) -> str:
    return f"lead:{lead_id}"


def request_id(lead_id: int, key: str) -> str:
    """What the remote sees as our request id: the lead's number and a hash of its unique key."""
    return f"lg{lead_id}-{hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:12]}"


def complete(row: dict[str, Any]) -> bool:
    """A call once its summary came (it may still gain a recording); everything else at once."""
    if row["kind"] != "call":
        return True
    return bool((row["call"] or {}).get("complete"))


def takes(s: SinkSettings, row: dict[str, Any], pipeline: str | None) -> bool:
    if row["channel"] not in s.channels or row["direction"] not in s.directions:
        return False
    if row["quality"] == "non_target" and not s.include_non_target:
        return False
    return not s.pipelines or pipeline in s.pipelines


def _pipeline(conn: Connection, row: dict[str, Any]) -> str | None:
    if row["pipeline_id"] is None:
        return None
    return conn.execute(select(pipelines.c.name).where(pipelines.c.id == row["pipeline_id"])).scalar()


def note_key(lead_id: int, message_key: str) -> str:
    return f"note:{lead_id}:{hashlib.sha1(message_key.encode(), usedforsecurity=False).hexdigest()[:16]}"


def _notes(conn: Connection, s: SinkSettings, lead_id: int, now: datetime) -> None:
    """A note per later message; each waits for the one before it, so the remote reads them in order."""
    rows = conn.execute(select(messages.c.key, messages.c.direction, messages.c.at, messages.c.author,
                               messages.c.subject, messages.c.text)
                        .where(messages.c.lead_id == lead_id).order_by(messages.c.at, messages.c.id)).mappings().all()
    after = None
    for m in rows[1:]:  # the first message is the lead itself
        key = note_key(lead_id, m["key"])
        outbox.enqueue_job(conn, kind=job_kind(s.name), target=s.name, event_type=NOTE, lead_id=lead_id, now=now,
                           key=key, payload={"message_key": m["key"], "direction": m["direction"],
                                             "author": m["author"], "subject": m["subject"], "text": m["text"],
                                             "at": m["at"].isoformat(), "after": after})
        after = key


def sync_lead(conn: Connection, sinks: Sequence[SinkSettings], lead_id: int, *, joined: bool,
              now: datetime) -> list[str]:
    """Queue what `lead_id` owes each sink; the ids of delivery jobs added now."""
    found = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if found is None or found["history_only"] or not complete(dict(found)):
        return []
    row = dict(found)
    pipeline = _pipeline(conn, row)
    added = []
    for s in sinks:
        if not takes(s, row, pipeline):
            continue
        job = outbox.enqueue_job(conn, kind=job_kind(s.name), target=s.name, event_type=DELIVERY,
                                 key=lead_key(lead_id), lead_id=lead_id, now=now,
                                 payload={"request_id": request_id(lead_id, row["key"])})
        if job is not None:
            added.append(job)
        if joined:
            _notes(conn, s, lead_id, now)
    return added


def retry_delivery(conn: Connection, s: SinkSettings, lead_id: int, *, now: datetime) -> str:
    """Deliver again now: the dead (or done) job goes back to pending; a lead never queued is queued."""
    key = lead_key(lead_id)
    job = conn.execute(select(outbox_table.c.id).where(outbox_table.c.kind == job_kind(s.name),
                                                      outbox_table.c.key == key)).scalar()
    if job is not None:
        outbox.replay(conn, job, now=now)
        return str(job)
    row = conn.execute(select(leads.c.key).where(leads.c.id == lead_id)).scalar_one()
    made = outbox.enqueue_job(conn, kind=job_kind(s.name), target=s.name, event_type=DELIVERY, key=key,
                              lead_id=lead_id, now=now, payload={"request_id": request_id(lead_id, row)})
    assert made is not None
    return made


def hook(sinks: Sequence[SinkSettings],
         clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Callable[[Connection, Any, Any], None]:
    """The processor's lead hook: runs in its transaction for every stored interaction."""
    def run(conn: Connection, result: Any, event: Any) -> None:
        if result.lead_id is not None:
            sync_lead(conn, sinks, result.lead_id, joined=bool(result.joined), now=clock())

    return run
