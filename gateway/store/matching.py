"""Who a lead might be: existing contacts and deals with the reasons why; merging two contacts found to be one.

Hints are explained and ranked, strongest first. Nothing here links a lead by itself:
the operator decides (a weak hint such as a shared name is shown, never acted on).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import Connection, or_, select, update

from gateway.core.errors import Conflict, NotFound, PayloadError
from gateway.core.normalise import find_phones, normalise_email
from gateway.core.scoring import FREE_MAIL_DOMAINS
from gateway.store.schema import contacts, deals, identities, leads, messages, pipelines, stages, users
from gateway.store.triage import Actor, audit
from gateway.store.views import contact_json

__all__ = ["REASONS", "matches_for_lead", "merge_contacts", "similar_names"]

# reason -> weight; the strength of a match is its strongest reason (plus a little for each other one)
REASONS = {
    "same contact": 100,
    "same phone": 90,
    "same e-mail": 80,
    "same e-mail domain and similar name": 50,
    "same name": 30,
    "same e-mail domain": 15,
}
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_MAX_CANDIDATES = 200


@dataclass(slots=True)
class _Match:
    contact_id: int
    reasons: set[str] = field(default_factory=set)

    @property
    def score(self) -> int:
        weights = sorted((REASONS[r] for r in self.reasons), reverse=True)
        return weights[0] + 5 * (len(weights) - 1)


def _tokens(name: str | None) -> list[str]:
    return sorted(t for t in re.split(r"[\s,.;]+", (name or "").casefold().replace("ё", "е")) if t)


def similar_names(a: str | None, b: str | None) -> bool:
    """The same words in any order, or nearly the same spelling, or sharing most words."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    if ta == tb:
        return True
    common = {t for t in ta if len(t) >= 3} & {t for t in tb if len(t) >= 3}
    if common and len(common) / len(set(ta) | set(tb)) >= 0.5:
        return True
    return SequenceMatcher(None, " ".join(ta), " ".join(tb)).ratio() >= 0.85


def _resolve(conn: Connection, ids: Iterable[int]) -> dict[int, int]:
    """contact id -> the contact it now is (merged contacts followed)."""
    ids = set(ids)
    if not ids:
        return {}
    rows = conn.execute(select(contacts.c.id, contacts.c.merged_into).where(contacts.c.id.in_(ids))).all()
    return {int(i): int(m or i) for i, m in rows}


def _by_identity(conn: Connection, kind: str, values: list[str]) -> list[int]:
    if not values:
        return []
    rows = conn.execute(select(identities.c.contact_id).where(identities.c.kind == kind,
                                                              identities.c.value.in_(values))).all()
    return [int(r[0]) for r in rows]


def _by_domain(conn: Connection, domain: str) -> list[int]:
    rows = conn.execute(select(identities.c.contact_id).where(
        identities.c.kind == "email", identities.c.value.like(f"%@{domain}")).limit(_MAX_CANDIDATES)).all()
    return [int(r[0]) for r in rows]


def _by_name(conn: Connection, name: str) -> list[tuple[int, str]]:
    """Contacts whose name contains the longest word of `name` (any case: SQLite folds ASCII only)."""
    words = [w for w in re.split(r"\s+", name.strip()) if len(w) >= 3]
    if len(words) < 2:
        return []
    word = max(words, key=len)
    spellings = {word, word.lower(), word.capitalize(), word.upper()}
    rows = conn.execute(select(contacts.c.id, contacts.c.name).where(
        or_(*(contacts.c.name.like(f"%{w}%") for w in spellings)), contacts.c.merged_into.is_(None)
    ).limit(_MAX_CANDIDATES)).all()
    return [(int(i), n) for i, n in rows]


def _signals(conn: Connection, lead: dict[str, Any], region: str) -> tuple[list[str], list[str]]:
    """The lead's phones and e-mails, including those written in its subject and text."""
    text = " ".join(filter(None, [lead.get("subject"), lead.get("text")]))[:20000]
    phones = [p for p in [lead.get("phone"), *find_phones(text, region)] if p]
    emails = [e for e in [lead.get("email"), *(normalise_email(m) for m in _EMAIL_IN_TEXT.findall(text))] if e]
    return list(dict.fromkeys(phones)), list(dict.fromkeys(emails))


def _collect(conn: Connection, lead: dict[str, Any], region: str) -> dict[int, _Match]:
    found: dict[int, _Match] = {}
    own = _resolve(conn, [lead["contact_id"]]).get(lead["contact_id"]) if lead["contact_id"] else None

    def add(contact_ids: Iterable[int], reason: str) -> None:
        for cid in _resolve(conn, contact_ids).values():
            found.setdefault(cid, _Match(cid)).reasons.add("same contact" if cid == own else reason)

    phones, emails = _signals(conn, lead, region)
    add(_by_identity(conn, "phone", phones), "same phone")
    add(_by_identity(conn, "email", emails), "same e-mail")
    domain = (lead.get("email") or "").rpartition("@")[2]
    if domain and domain not in FREE_MAIL_DOMAINS:
        names = dict(conn.execute(select(contacts.c.id, contacts.c.name).where(
            contacts.c.id.in_(_resolve(conn, _by_domain(conn, domain)).values()))).all())
        for cid, cname in names.items():
            similar = similar_names(lead.get("name"), cname)
            add([cid], "same e-mail domain and similar name" if similar else "same e-mail domain")
    if lead.get("name"):
        target = _tokens(lead["name"])
        add([cid for cid, cname in _by_name(conn, lead["name"]) if _tokens(cname) == target], "same name")
    if own is not None and own in found and found[own].reasons == {"same contact"} \
            and not _deals(conn, own, exclude=lead["deal_id"]):
        del found[own]  # the lead's own contact, with nothing else to link to
    return found


def _deals(conn: Connection, contact_id: int, limit: int = 5, exclude: int | None = None) -> list[dict[str, Any]]:
    q = (select(deals.c.id, deals.c.name, deals.c.status, deals.c.updated_at, pipelines.c.name.label("pipeline"),
                stages.c.name.label("stage"), users.c.name.label("responsible"))
         .join(pipelines, pipelines.c.id == deals.c.pipeline_id).join(stages, stages.c.id == deals.c.stage_id)
         .outerjoin(users, users.c.id == deals.c.responsible_id).where(deals.c.contact_id == contact_id)
         .order_by((deals.c.status == "open").desc(), deals.c.updated_at.desc()).limit(limit))
    if exclude is not None:
        q = q.where(deals.c.id != exclude)
    return [{k: v for k, v in dict(r).items() if k != "updated_at"} for r in conn.execute(q).mappings()]


def matches_for_lead(conn: Connection, lead_id: int, *, region: str, limit: int = 10) -> list[dict[str, Any]]:
    """Contacts and deals the lead might belong to, strongest first, each with its reasons."""
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if row is None:
        raise NotFound("no such lead")
    ranked = sorted(_collect(conn, dict(row), region).values(), key=lambda m: (-m.score, m.contact_id))[:limit]
    out = []
    for m in ranked:
        contact = contact_json(conn, m.contact_id)
        if contact is None:
            continue
        out.append({
            "contact": {k: contact[k] for k in ("id", "name", "phones", "emails")},
            "deals": _deals(conn, m.contact_id, exclude=row["deal_id"]),
            "reasons": sorted(m.reasons, key=lambda r: -REASONS[r]),
            "score": m.score,
            "strength": "strong" if m.score >= 80 else "medium" if m.score >= 40 else "weak",
        })
    return out


# --- merging ----------------------------------------------------------------------------------
def _locked(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    q = select(contacts).where(contacts.c.id.in_(ids)).order_by(contacts.c.id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    return {int(r["id"]): dict(r) for r in conn.execute(q).mappings()}


def merge_contacts(conn: Connection, contact_id: int, into: int, actor: Actor, *, now: datetime) -> dict[str, Any]:
    """Fold `contact_id` into `into`: identities moved, leads, deals and messages re-pointed."""
    if contact_id == into:
        raise PayloadError("into: a contact cannot be merged into itself")
    rows = _locked(conn, sorted({contact_id, into}))
    if contact_id not in rows or into not in rows:
        raise NotFound("no such contact")
    src, dst = rows[contact_id], rows[into]
    if src["merged_into"] == into:
        return {"ok": True, "repeated": True, "merged": contact_id, "contact": contact_json(conn, into)}
    if src["merged_into"] is not None:
        raise Conflict(f"contact {contact_id} was already merged into {src['merged_into']}")
    if dst["merged_into"] is not None:
        raise Conflict(f"contact {into} was merged into {dst['merged_into']}: merge into that one")
    conn.execute(update(contacts).where(contacts.c.id == contact_id).values(merged_into=into, updated_at=now))
    conn.execute(update(contacts).where(contacts.c.merged_into == contact_id).values(merged_into=into))
    for table in (identities, leads, deals, messages):
        conn.execute(update(table).where(table.c.contact_id == contact_id).values(contact_id=into))
    fill = {k: src[k] for k in ("name", "position", "company_id") if dst[k] is None and src[k] is not None}
    conn.execute(update(contacts).where(contacts.c.id == into).values(**fill, updated_at=now))
    audit(conn, actor, "contact.merge", now, contact_id=into, merged=contact_id)
    return {"ok": True, "repeated": False, "merged": contact_id, "contact": contact_json(conn, into)}

