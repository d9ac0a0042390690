"""What a lead's card shows: the lead, what the customer said and did, media, match hints, triage choices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from gateway.api.triage import triage_options
from gateway.calltracking.usage import visitor_path
from gateway.config import Settings
from gateway.store.journal_view import lead_type
from gateway.store.matching import matches_for_lead
from gateway.store.schema import deals, messages, users
from gateway.store.triage import Actor, check_operator, lead_row
from gateway.store.views import lead_json
from gateway.web.mailhtml import sanitise, srcdoc

__all__ = ["TECHNICAL", "VISIT", "card_data", "known_people", "visible"]

# Fields connectors keep for tracing, not for the operator: shown to administrators under «Подробности»
TECHNICAL = frozenset({
    "entry_id", "acd_group", "ivr_digits", "command_id", "callback_initiator", "call_tracking_number", "transferred",
    "message_id", "folder", "to", "cc", "from", "chat_id", "ip", "user_agent", "submission", "referral", "form_id",
    "ad_id", "visitor", "click_ids",
})
# A tracked visit's fields (call tracking): shown in their own section, not among what the customer filled in
VISIT = frozenset({"visitor", "page", "landing", "referrer", "click_ids", "pages", "calltracking", "ct_visitor"})


def visible(actor: Actor, row: dict[str, Any]) -> bool:
    """Operators see Unsorted and their own leads; the others see everything."""
    return actor.role != "operator" or row["status"] == "unsorted" or actor.id in (row["manager_id"],
                                                                                    row["taken_by"])


def known_people(conn: Connection, rows: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Per lead: whether its person is known (an existing contact, a repeat, an open deal) — for the queue."""
    contact_ids = {r["contact_id"] for r in rows if r.get("contact_id")}
    open_deals: dict[int, tuple[int, int]] = {}
    if contact_ids:
        q = (select(deals.c.contact_id, func.count(), func.max(deals.c.id)).where(
            deals.c.contact_id.in_(contact_ids), deals.c.status == "open").group_by(deals.c.contact_id))
        open_deals = {int(c): (int(n), int(last)) for c, n, last in conn.execute(q)}
    out = {}
    for r in rows:
        deal = open_deals.get(r["contact_id"]) if r.get("contact_id") else None
        if deal:
            out[r["id"]] = {"mark": "open_deal", "deals": deal[0], "deal_id": deal[1]}
        elif r.get("quality") == "repeat":
            out[r["id"]] = {"mark": "repeat"}
        elif r.get("contact_id") and not r.get("contact_was_new", True):
            out[r["id"]] = {"mark": "known"}
        else:
            out[r["id"]] = {"mark": "new"}
    return out


def _mail_bodies(conn: Connection, lead_id: int, *, remote_images: bool) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(messages.c.id, messages.c.html).where(
        messages.c.lead_id == lead_id, messages.c.html.is_not(None))).all()
    out = {}
    for message_id, raw in rows:
        clean = sanitise(raw or "", allow_remote_images=remote_images)
        out[int(message_id)] = {"srcdoc": srcdoc(clean.html, allow_remote_images=remote_images),
                                "remote_images": clean.remote_images, "removed": clean.removed}
    return out


def _media(lead: dict[str, Any]) -> tuple[dict[int | None, list[dict[str, Any]]], list[dict[str, Any]]]:
    """Attachments by the message they came with (None: the lead's own), and the media among them."""
    by_message: dict[int | None, list[dict[str, Any]]] = {}
    for a in lead["attachments"]:
        kind = (a.get("content_type") or "").split("/")[0]
        a["media"] = kind if kind in ("image", "audio", "video") and not a.get("content_type", "").endswith("svg+xml") \
            else None
        by_message.setdefault(a.get("message_id"), []).append(a)
    return by_message, [a for a in lead["attachments"] if a["media"]]


def card_data(conn: Connection, lead_id: int, actor: Actor, settings: Settings, *, show_html: bool = False,
              remote_images: bool = False) -> dict[str, Any]:
    row = lead_row(conn, lead_id)
    check_operator(actor, row)
    lead = lead_json(conn, lead_id)
    assert lead is not None
    taken_by = conn.execute(select(users.c.name).where(users.c.id == row["taken_by"])).scalar() \
        if row["taken_by"] else None
    html = _mail_bodies(conn, lead_id, remote_images=remote_images) if show_html else {}
    by_message, media = _media(lead)
    fields, technical = _fields(lead)
    return {
        "lead": lead, "taken_by": taken_by, "html": html, "show_html": show_html, "remote_images": remote_images,
        "has_html": any(m["has_html"] for m in lead["conversation"]),
        "matches": matches_for_lead(conn, lead_id, region=settings.default_region),
        "options": triage_options(conn, settings), "can_merge": actor.role in ("admin", "manager"),
        "fields": fields, "technical": technical if actor.role == "admin" else [],
        "attachments_of": by_message, "media": media, "known": known_people(conn, [row])[lead_id],
        "visit": _visit(conn, lead),
        "lead_type": lead_type(row["kind"], row["direction"], row["result"],
                               missed=bool(row["needs_callback"] or row["callback_at"])),
    }


def _visit(conn: Connection, lead: dict[str, Any]) -> dict[str, Any] | None:
    """The site visit a call or form came from (call tracking), with the visitor's path; None for others."""
    custom = lead.get("custom") or {}
    tracking = custom.get("calltracking")
    if not isinstance(tracking, dict):
        return None
    visitor = custom.get("visitor")
    path = visitor_path(conn, visitor) if isinstance(visitor, str) else []
    return {"verdict": tracking.get("verdict"), "reason": tracking.get("reason"), "number": tracking.get("number"),
            "campaign": (lead.get("utm") or {}).get("utm_campaign"), "keyword": (lead.get("utm") or {}).get("utm_term"),
            "landing": custom.get("landing"), "referrer": custom.get("referrer"),
            "click_ids": custom.get("click_ids") or {}, "pages": custom.get("pages") or [],
            "path": [e for e in path if "lead" in e and e["lead"]["id"] != lead["id"]]}


def _fields(lead: dict[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(what the customer filled in or did, technical fields): a form's own fields first."""
    custom = dict(lead.get("custom") or {})
    fields = custom.pop("fields", None)
    own: list[tuple[str, Any]] = []
    if isinstance(fields, dict):
        own += list(fields.items())
    elif isinstance(fields, list):
        own += [(str(f.get("name", "")), f.get("value")) if isinstance(f, dict) else ("", f) for f in fields]
    technical: list[tuple[str, Any]] = [("id", lead["id"]), ("key", lead["key"])]
    technical += [("account", lead["account"])] if lead.get("account") else []
    tracked = "calltracking" in custom
    for k, v in custom.items():
        if v in (None, "", [], {}) or (tracked and k in VISIT):
            continue
        (technical if k in TECHNICAL else own).append((k, v))
    if lead.get("call"):
        technical += [(f"call.{k}", v) for k, v in lead["call"].items() if v not in (None, "", [], {}) and k != "legs"]
    return own, technical
