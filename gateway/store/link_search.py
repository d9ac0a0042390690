"""Finding the deal a lead belongs to: contacts and deals by name, phone, e-mail or deal number.

Each result carries how it was found (`found_by`) and the match hints the lead itself gives
(`reasons`: same phone, same e-mail...), so the operator sees whether a stranger's call really
belongs to the deal they are about to link it to.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection, or_, select

from gateway.core.normalise import normalise_email, normalise_phone
from gateway.store.matching import REASONS, matches_for_lead
from gateway.store.schema import contacts, deals, identities, pipelines, stages, users
from gateway.store.views import contact_json

__all__ = ["link_candidates"]

_LIMIT = 20


def _spellings(word: str) -> set[str]:
    """SQLite's LIKE folds ASCII only: the usual spellings of a Cyrillic word."""
    return {word, word.lower(), word.capitalize(), word.upper(), word.title()}


def _found(conn: Connection, q: str, region: str) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """(contact id -> how found, deal id -> how found) for the query."""
    by_contact: dict[int, set[str]] = {}
    by_deal: dict[int, set[str]] = {}
    digits = re.sub(r"\D", "", q)
    if digits and digits == q.strip().lstrip("#№ ") and len(digits) <= 9:
        for (deal_id,) in conn.execute(select(deals.c.id).where(deals.c.id == int(digits))):
            by_deal.setdefault(int(deal_id), set()).add("number")
    if len(digits) >= 10 and (phone := normalise_phone(q, region)):
        for (cid,) in conn.execute(select(identities.c.contact_id).where(identities.c.kind == "phone",
                                                                        identities.c.value == phone)):
            by_contact.setdefault(int(cid), set()).add("phone")
    if "@" in q:
        email = normalise_email(q) or q.strip().lower()
        pattern = email if "." in email.rpartition("@")[2] else f"%{email}%"
        cond = identities.c.value == pattern if pattern == email else identities.c.value.like(pattern)
        for (cid,) in conn.execute(select(identities.c.contact_id).where(identities.c.kind == "email", cond)
                                   .limit(_LIMIT)):
            by_contact.setdefault(int(cid), set()).add("email")
    words = [w for w in re.split(r"\s+", q.strip()) if len(w) >= 2 and not w.isdigit()]
    if words and "@" not in q:
        longest = max(words, key=len)
        names = or_(*(contacts.c.name.like(f"%{s}%") for s in _spellings(longest)))
        for cid, name in conn.execute(select(contacts.c.id, contacts.c.name).where(
                names, contacts.c.merged_into.is_(None)).limit(_LIMIT * 5)):
            if all(w.casefold() in (name or "").casefold() for w in words):
                by_contact.setdefault(int(cid), set()).add("name")
        titles = or_(*(deals.c.name.like(f"%{s}%") for s in _spellings(longest)))
        for deal_id, title in conn.execute(select(deals.c.id, deals.c.name).where(titles).limit(_LIMIT * 5)):
            if all(w.casefold() in (title or "").casefold() for w in words):
                by_deal.setdefault(int(deal_id), set()).add("deal name")
    return by_contact, by_deal


def _deal_rows(conn: Connection, cond: Any, limit: int) -> list[dict[str, Any]]:
    q = (select(deals.c.id, deals.c.name, deals.c.status, deals.c.contact_id, pipelines.c.name.label("pipeline"),
                stages.c.name.label("stage"), users.c.name.label("responsible"))
         .join(pipelines, pipelines.c.id == deals.c.pipeline_id).join(stages, stages.c.id == deals.c.stage_id)
         .outerjoin(users, users.c.id == deals.c.responsible_id).where(cond)
         .order_by((deals.c.status == "open").desc(), deals.c.updated_at.desc()).limit(limit))
    return [dict(r) for r in conn.execute(q).mappings()]


def link_candidates(conn: Connection, lead_id: int, q: str, *, region: str) -> list[dict[str, Any]]:
    """Contacts (with their deals) and deals matching `q`, each with how it was found and the lead's hints."""
    q = q.strip()[:200]
    if not q:
        return []
    by_contact, by_deal = _found(conn, q, region)
    deal_rows = {d["id"]: d for d in _deal_rows(conn, deals.c.id.in_(list(by_deal)), _LIMIT)} if by_deal else {}
    for d in deal_rows.values():
        if d["contact_id"] is not None:
            by_contact.setdefault(int(d["contact_id"]), set())
    hints = {m["contact"]["id"]: m["reasons"] for m in matches_for_lead(conn, lead_id, region=region, limit=50)}
    items = []
    for cid, how in list(by_contact.items())[:_LIMIT]:
        contact = contact_json(conn, cid)
        if contact is None or contact["merged_into"] is not None:
            continue
        own = _deal_rows(conn, deals.c.contact_id == cid, 5)
        found_deals = {d["id"] for d in deal_rows.values() if d["contact_id"] == cid}
        items.append(_item(contact, own, how | {w for i in found_deals for w in by_deal[i]}, hints.get(cid, [])))
    items += [_item(None, [d], by_deal[d["id"]], []) for d in deal_rows.values() if d["contact_id"] is None]
    return sorted(items, key=lambda i: (-i["score"], "number" not in i["found_by"], i["contact"]["id"]
                                        if i["contact"] else 0))


def _item(contact: dict[str, Any] | None, own_deals: list[dict[str, Any]], how: set[str],
          reasons: list[str]) -> dict[str, Any]:
    score = max((REASONS[r] for r in reasons), default=0)
    return {"contact": {k: contact[k] for k in ("id", "name", "phones", "emails")} if contact else None,
            "deals": [{k: v for k, v in d.items() if k != "contact_id"} for d in own_deals],
            "found_by": sorted(how), "reasons": reasons, "score": score,
            "strength": "strong" if score >= 80 else "medium" if score >= 40 else "weak" if score else "none"}
