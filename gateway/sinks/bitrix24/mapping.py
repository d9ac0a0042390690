"""Our lead → Bitrix24 REST calls (pure): `crm.duplicate.findbycomm`, `crm.lead.add`, timeline comments.

Field names follow the official docs (bitrix24/b24restdocs: `crm-lead-add.md`, `data-types.md`
for `crm_multifield`, `crm-duplicate-find-by-comm.md`, the timeline comment methods).
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from gateway.config.sinks import Bitrix24Settings
from gateway.sinks.amocrm.mapping import lead_name
from gateway.sinks.base import SinkLead

__all__ = ["ORIGINATOR", "comment", "duplicate_queries", "lead_fields", "lead_lookup"]

ORIGINATOR = "lead-gateway"  # ORIGINATOR_ID: who made the record; ORIGIN_ID is our request id
UTM = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
MAX_VALUES = 20  # crm.duplicate.findbycomm takes at most 20 values


def _phone_variants(phone: str) -> list[str]:
    """E.164, and the `8XXXXXXXXXX` a person types in Russia (CRM values are free text)."""
    out = [phone]
    try:
        n = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return out
    if n.country_code == 7:
        out.append(f"8{n.national_number}")
    return out


def duplicate_queries(lead: SinkLead) -> list[dict[str, Any]]:
    """One `crm.duplicate.findbycomm` call per kind of communication we know, contacts only."""
    out = []
    if lead.phone:
        out.append({"type": "PHONE", "values": _phone_variants(lead.phone)[:MAX_VALUES], "entity_type": "CONTACT"})
    if lead.email:
        out.append({"type": "EMAIL", "values": [lead.email], "entity_type": "CONTACT"})
    return out


def _comments(lead: SinkLead) -> str:
    lines = []
    if lead.kind == "mail" and lead.subject:
        lines.append(f"Тема: {lead.subject}")
    if lead.text:
        lines.append(lead.text.strip())
    if lead.kind == "call":
        lines.append(f"Звонок: {lead.result or 'нет данных'}, разговор {lead.duration_s or 0} с"
                     + (f", линия {lead.line}" if lead.line else ""))
        if lead.recording_link:
            lines.append(f"Запись: {lead.recording_link}")
    lines += [f"Файл: {f.name}" + (f" — {f.link}" if f.link else "") for f in lead.files]
    if lead.card_link:
        lines.append(f"Карточка в шлюзе: {lead.card_link}")
    return "\n".join(lines)[:20000]


def lead_fields(lead: SinkLead, s: Bitrix24Settings, request_id: str, contact_id: int | None) -> dict[str, Any]:
    """`crm.lead.add` body: a new person's lead, or one attached to the contact found."""
    f: dict[str, Any] = {"TITLE": lead_name(lead), "SOURCE_ID": s.source_id(lead.channel),
                         "SOURCE_DESCRIPTION": lead.source or lead.channel, "COMMENTS": _comments(lead),
                         "ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": request_id, "OPENED": "Y"}
    if lead.name:
        f["NAME"] = lead.name
    if lead.phone:
        f["PHONE"] = [{"VALUE": lead.phone, "VALUE_TYPE": "WORK"}]
    if lead.email:
        f["EMAIL"] = [{"VALUE": lead.email, "VALUE_TYPE": "WORK"}]
    if lead.company:
        f["COMPANY_TITLE"] = lead.company
    if lead.position:
        f["POST"] = lead.position
    if lead.budget:
        f["OPPORTUNITY"] = lead.budget
    for key in UTM:
        if lead.utm.get(key):
            f[key.upper()] = str(lead.utm[key])
    if contact_id is not None:
        f["CONTACT_ID"] = contact_id
    responsible = s.responsible.get(lead.manager or "") or s.assigned_by_id
    if responsible is not None:
        f["ASSIGNED_BY_ID"] = responsible
    return {"fields": f, "params": {"REGISTER_SONET_EVENT": "Y"}}


def lead_lookup(request_id: str) -> dict[str, Any]:
    """`crm.lead.list` for the lead an earlier request made (its answer lost)."""
    return {"filter": {"ORIGINATOR_ID": ORIGINATOR, "ORIGIN_ID": request_id}, "select": ["ID"]}


def comment(lead: SinkLead, request_id: str) -> str:
    """A known person's lead as a timeline comment on their contact; the request id makes it findable."""
    return f"{lead_name(lead)}\n{_comments(lead)}\n[{request_id}]".strip()
