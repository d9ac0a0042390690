"""What a lead's card shows: the lead, its content by kind, match hints, the triage choices."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from gateway.api.triage import triage_options
from gateway.config import Settings
from gateway.store.matching import matches_for_lead
from gateway.store.schema import messages, users
from gateway.store.triage import Actor, check_operator, lead_row
from gateway.store.views import lead_json
from gateway.web.mailhtml import sanitise, srcdoc

__all__ = ["card_data", "visible"]


def visible(actor: Actor, row: dict[str, Any]) -> bool:
    """Operators see Unsorted and their own leads; the others see everything."""
    return actor.role != "operator" or row["status"] == "unsorted" or actor.id in (row["manager_id"],
                                                                                    row["taken_by"])


def _mail_bodies(conn: Connection, lead_id: int, *, remote_images: bool) -> dict[int, dict[str, Any]]:
    rows = conn.execute(select(messages.c.id, messages.c.html).where(
        messages.c.lead_id == lead_id, messages.c.html.is_not(None))).all()
    out = {}
    for message_id, raw in rows:
        clean = sanitise(raw or "", allow_remote_images=remote_images)
        out[int(message_id)] = {"srcdoc": srcdoc(clean.html, allow_remote_images=remote_images),
                                "remote_images": clean.remote_images, "removed": clean.removed}
    return out


def card_data(conn: Connection, lead_id: int, actor: Actor, settings: Settings, *, show_html: bool = False,
              remote_images: bool = False) -> dict[str, Any]:
    row = lead_row(conn, lead_id)
    check_operator(actor, row)
    lead = lead_json(conn, lead_id)
    assert lead is not None
    taken_by = conn.execute(select(users.c.name).where(users.c.id == row["taken_by"])).scalar() \
        if row["taken_by"] else None
    html = _mail_bodies(conn, lead_id, remote_images=remote_images) if show_html else {}
    return {
        "lead": lead, "taken_by": taken_by, "html": html, "show_html": show_html, "remote_images": remote_images,
        "has_html": any(m["has_html"] for m in lead["conversation"]),
        "matches": matches_for_lead(conn, lead_id, region=settings.default_region),
        "options": triage_options(conn, settings), "can_merge": actor.role in ("admin", "manager"),
        "fields": _form_fields(lead),
    }


def _form_fields(lead: dict[str, Any]) -> list[tuple[str, Any]]:
    """A form's own fields first (as the connector kept them), then the rest of `custom`."""
    custom = dict(lead.get("custom") or {})
    fields = custom.pop("fields", None)
    out: list[tuple[str, Any]] = []
    if isinstance(fields, dict):
        out += list(fields.items())
    elif isinstance(fields, list):
        out += [(str(f.get("name", "")), f.get("value")) if isinstance(f, dict) else ("", f) for f in fields]
    out += [(k, v) for k, v in custom.items() if v not in (None, "", [], {})]
    return out
