"""Where each lead went: its sink deliveries as the API and the card show them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from gateway.store.schema import events, outbox

__all__ = ["CALLBACK", "SINK_DELIVERY", "callbacks", "sink_states"]

SINK_DELIVERY = "sink.lead"  # the event type of a lead's delivery job (the sink is the job's target)
CALLBACK = "mango.callback"  # the kind of a click-to-call command


def _status(row: dict[str, Any]) -> str:
    """pending | delivered | failed (an attempt failed, another will come) | dead."""
    if row["status"] == "done":
        return "delivered"
    if row["status"] == "dead":
        return "dead"
    return "failed" if row["attempts"] and row["last_error"] else "pending"


def sink_states(conn: Connection, lead_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in lead_ids}
    if not lead_ids:
        return out
    rows = conn.execute(select(outbox.c.lead_id, outbox.c.target, outbox.c.status, outbox.c.attempts,
                               outbox.c.last_error, outbox.c.result, outbox.c.delivered_at, outbox.c.next_attempt_at)
                        .where(outbox.c.lead_id.in_(list(lead_ids)), outbox.c.event_type == SINK_DELIVERY)
                        .order_by(outbox.c.target)).mappings()
    for r in rows:
        result = r["result"] or {}
        status = _status(dict(r))
        out[r["lead_id"]].append({
            "name": r["target"], "status": status, "remote_id": result.get("remote_id"), "url": result.get("url"),
            "attempts": r["attempts"], "error": None if status == "delivered" else r["last_error"],
            "delivered_at": r["delivered_at"],
            "next_attempt_at": r["next_attempt_at"] if status in ("pending", "failed") else None,
        })
    return out


def callbacks(conn: Connection, lead_id: int) -> list[dict[str, Any]]:
    """The lead's click-to-call commands, newest first: sent or refused, and what the PBX answered."""
    jobs = conn.execute(select(outbox.c.key, outbox.c.status, outbox.c.last_error, outbox.c.created_at,
                               outbox.c.payload).where(outbox.c.lead_id == lead_id, outbox.c.kind == CALLBACK)
                        .order_by(outbox.c.created_at.desc())).mappings().all()
    if not jobs:
        return []
    groups = [f"command:{j['key']}" for j in jobs]
    results = {r.group_key: r.result or {} for r in conn.execute(
        select(events.c.group_key, events.c.result).where(events.c.connector == "mango",
                                                         events.c.group_key.in_(groups),
                                                         events.c.status == "done"))}
    out = []
    for j in jobs:
        result = results.get(f"command:{j['key']}", {})
        status = {"done": "sent", "dead": "refused"}.get(j["status"], "queued")
        out.append({"command_id": j["key"], "status": status, "error": j["last_error"] if status != "sent" else None,
                    "extension": (j["payload"].get("from") or {}).get("extension"), "result": result.get("result"),
                    "message": result.get("message"), "at": j["created_at"]})
    return out
