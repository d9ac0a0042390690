"""Read models: leads, contacts and deals as the API shows them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from gateway.core.normalise import normalise_email, normalise_phone
from gateway.store.deliveries import callbacks, sink_states
from gateway.store.schema import (
    attachments,
    companies,
    contacts,
    deals,
    identities,
    leads,
    messages,
    pipelines,
    sources,
    stages,
    users,
)
from gateway.store.tasks import open_tasks_of

__all__ = ["contact_json", "contacts_by_identity", "deal_json", "iso", "lead_json", "leads_json"]


def iso(ts: datetime | None) -> str | None:
    """A stored time (aware, UTC: see `schema.UtcDateTime`) as ISO 8601 text with its offset."""
    return None if ts is None else ts.isoformat()


def _names(conn: Connection, table: Any, ids: set[int]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {r.id: r.name for r in conn.execute(select(table.c.id, table.c.name).where(table.c.id.in_(ids)))}


def _attachments(conn: Connection, lead_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in lead_ids}
    if not lead_ids:
        return out
    rows = conn.execute(select(attachments).where(attachments.c.lead_id.in_(list(lead_ids)))
                        .order_by(attachments.c.id)).mappings()
    for a in rows:
        out[a["lead_id"]].append({
            "name": a["name"], "size": a["size"], "content_type": a["content_type"], "role": a["role"],
            "url": f"/api/v1/files/{a['file_id']}" if a["file_id"] else None,
            "omitted": a["omitted"], "reason": a["reason"], "inline": a["inline"], "message_id": a["message_id"],
        })
    return out


def leads_json(conn: Connection, rows: Sequence[dict[str, Any]], *,
               manager_mode: str = "taken") -> list[dict[str, Any]]:
    """Lead rows as the API shows them (names resolved in a few queries for the whole page)."""
    src = _names(conn, sources, {r["source_id"] for r in rows})
    deal_rows = {d["id"]: dict(d) for d in conn.execute(
        select(deals.c.id, deals.c.responsible_id, deals.c.name).where(
            deals.c.id.in_({r["deal_id"] for r in rows if r["deal_id"]}))).mappings()}
    user_ids = {r["manager_id"] for r in rows} | {d["responsible_id"] for d in deal_rows.values()}
    usr = _names(conn, users, user_ids)
    stg = _names(conn, stages, {r["stage_id"] for r in rows})
    pipe = _names(conn, pipelines, {r["pipeline_id"] for r in rows})
    files = _attachments(conn, [r["id"] for r in rows])
    delivered = sink_states(conn, [r["id"] for r in rows])
    out = []
    for r in rows:
        deal = deal_rows.get(r["deal_id"]) if r["deal_id"] else None
        taken = usr.get(r["manager_id"])
        responsible = usr.get(deal["responsible_id"]) if deal else None
        recording = f"/api/v1/files/{r['recording_file_id']}" if r["recording_file_id"] else None
        out.append({
            "id": r["id"], "key": r["key"], "received_at": iso(r["received_at"]), "channel": r["channel"],
            "kind": r["kind"], "direction": r["direction"], "status": r["status"], "quality": r["quality"],
            "advertising": r["advertising"], "source": src.get(r["source_id"]), "phone": r["phone"],
            "email": r["email"], "name": r["name"], "contact_id": r["contact_id"], "deal_id": r["deal_id"],
            "deal_name": deal["name"] if deal else None,
            "manager": (responsible or taken) if manager_mode == "responsible" else (taken or responsible),
            "extension": (r["call"] or {}).get("employee_extension"),  # the PBX's, even when no user has it
            "manager_taken": taken, "manager_responsible": responsible,
            "manager_differs": bool(taken and responsible and taken != responsible),
            "pipeline": pipe.get(r["pipeline_id"]), "stage": stg.get(r["stage_id"]),
            "duration_s": r["duration_s"], "result": r["result"], "recording": recording,
            "subject": r["subject"], "text": r["text"], "utm": r["utm"] or {}, "custom": r["custom"] or {},
            "company": r["company"], "position": r["position"], "budget": r["budget"],
            "attachments": [a for a in files[r["id"]] if a["role"] != "recording"],
            "score": r["score"], "score_details": r["score_details"] or [],
            "needs_callback": r["needs_callback"], "callback_at": iso(r["callback_at"]),
            "time_to_callback_s": r["time_to_callback_s"], "non_target_reason": r["non_target_reason"],
            "call": r["call"], "account": r["account"], "recovered": r["recovered"], "tags": r["tags"] or [],
            "taken_at": iso(r["taken_at"]), "decline_reason": r["decline_reason"],
            "merge_candidates": r["merge_candidates"] or [], "updated_at": iso(r["updated_at"]),
            "sinks": [{**d, "delivered_at": iso(d["delivered_at"]), "next_attempt_at": iso(d["next_attempt_at"])}
                      for d in delivered[r["id"]]],
        })
    return out


def lead_json(conn: Connection, lead_id: int, *, manager_mode: str = "taken") -> dict[str, Any] | None:
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if row is None:
        return None
    lead = leads_json(conn, [dict(row)], manager_mode=manager_mode)[0]
    lead["contact"] = contact_json(conn, row["contact_id"]) if row["contact_id"] else None
    lead["deal"] = _deal_row(conn, row["deal_id"]) if row["deal_id"] else None
    lead["callbacks"] = [{**c, "at": iso(c["at"])} for c in callbacks(conn, lead_id)]
    conversation = select(messages).where(messages.c.lead_id == lead_id).order_by(messages.c.at, messages.c.id)
    lead["conversation"] = [
        {"id": m["id"], "key": m["key"], "direction": m["direction"], "at": iso(m["at"]), "author": m["author"],
         "subject": m["subject"], "text": m["text"], "quoted": m["quoted"], "has_html": bool(m["html"]),
         "edited": m["edited"], "deleted": m["deleted"]}
        for m in conn.execute(conversation).mappings()
    ]
    return lead


def contact_json(conn: Connection, contact_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().first()
    if row is None:
        return None
    ids = conn.execute(select(identities.c.kind, identities.c.value).where(identities.c.contact_id == contact_id)
                       .order_by(identities.c.id)).all()
    return {
        "id": row["id"], "name": row["name"], "position": row["position"], "company_id": row["company_id"],
        "merged_into": row["merged_into"], "created_at": iso(row["created_at"]),
        "phones": [v for k, v in ids if k == "phone"], "emails": [v for k, v in ids if k == "email"],
        "identities": [{"kind": k, "value": v} for k, v in ids],
    }


def contacts_by_identity(conn: Connection, *, phone: str | None, email: str | None,
                         region: str) -> list[dict[str, Any]]:
    conds = []
    if phone and (p := normalise_phone(phone, region)):
        conds.append(and_(identities.c.kind == "phone", identities.c.value == p))
    if email and (e := normalise_email(email)):
        conds.append(and_(identities.c.kind == "email", identities.c.value == e))
    if not conds:
        return []
    ids = sorted({r[0] for r in conn.execute(select(identities.c.contact_id).where(or_(*conds)))})
    return [c for c in (contact_json(conn, i) for i in ids) if c]


def _deal_row(conn: Connection, deal_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(deals).where(deals.c.id == deal_id)).mappings().first()
    if row is None:
        return None
    names = _names(conn, users, {row["responsible_id"]})
    company_id = row["company_id"] or (conn.execute(select(contacts.c.company_id).where(
        contacts.c.id == row["contact_id"])).scalar() if row["contact_id"] else None)
    return {
        "id": row["id"], "name": row["name"], "contact_id": row["contact_id"], "status": row["status"],
        "pipeline": _names(conn, pipelines, {row["pipeline_id"]}).get(row["pipeline_id"]),
        "stage": _names(conn, stages, {row["stage_id"]}).get(row["stage_id"]),
        "responsible": names.get(row["responsible_id"]), "budget": row["budget"], "tags": row["tags"] or [],
        "company_id": company_id,
        "company": _names(conn, companies, {company_id}).get(company_id) if company_id is not None else None,
        "version": row["version"], "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
        "closed_at": iso(row["closed_at"]),
    }


def deal_json(conn: Connection, deal_id: int) -> dict[str, Any] | None:
    """A deal with its leads (whole), their ids, its contact and its open tasks."""
    deal = _deal_row(conn, deal_id)
    if deal is None:
        return None
    rows = [dict(r) for r in conn.execute(select(leads).where(leads.c.deal_id == deal_id)
                                          .order_by(leads.c.received_at.desc())).mappings()]
    deal["leads"] = leads_json(conn, rows)
    deal["lead_ids"] = [r["id"] for r in rows]
    deal["contact"] = contact_json(conn, deal["contact_id"]) if deal["contact_id"] else None
    deal["tasks"] = open_tasks_of(conn, [deal_id])[deal_id]
    return deal
