"""Our lead → amoCRM API v4 requests (pure): Unsorted `sip` and `forms` items, `leads/complex`, notes.

Field names and shapes follow the official SDK (amocrm/amocrm-api-php: `Models/Unsorted/*Metadata.php`,
`BaseUnsortedModel.php`) and the developers' pages for Unsorted, contacts and notes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import phonenumbers

from gateway.config.sinks import AmoCrmSettings
from gateway.sinks.base import SinkLead

__all__ = [
    "complex_lead", "contact_matches", "first_note", "forms_item", "lead_name", "note_body", "phone_query",
    "sip_item", "unsorted_category",
]

UTM_CODES = {"utm_source": "UTM_SOURCE", "utm_medium": "UTM_MEDIUM", "utm_campaign": "UTM_CAMPAIGN",
             "utm_term": "UTM_TERM", "utm_content": "UTM_CONTENT"}
CHANNEL_WORDS = {"telegram": "Telegram", "vk": "ВКонтакте", "whatsapp": "WhatsApp"}
NAME_LIMIT = 250


def _pretty(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return phone


def phone_query(phone: str) -> str:
    """What `GET /api/v4/contacts?query=` is asked with: the national number's digits (no +7 or 8)."""
    try:
        return str(phonenumbers.parse(phone).national_number)
    except phonenumbers.NumberParseException:
        return "".join(ch for ch in phone if ch.isdigit())


def lead_name(lead: SinkLead) -> str:
    who = lead.name or _pretty(lead.phone) or lead.email or f"№{lead.id}"
    if lead.kind == "call":
        title = {"in": "Входящий звонок", "out": "Исходящий звонок"}.get(lead.direction, "Звонок")
        title = f"{title} {_pretty(lead.phone) or ''}".strip()
        if lead.result and lead.result != "answered":
            title += " (пропущенный)" if lead.result == "missed" else ""
    elif lead.kind == "mail":
        title = f"Письмо: {lead.subject or who}"
    elif lead.kind == "chat":
        title = f"Сообщение в {CHANNEL_WORDS.get(lead.channel, lead.channel)}: {who}"
    elif lead.kind == "form":
        title = f"Заявка с сайта: {who}"
    else:
        title = f"Обращение: {who}"
    return title[:NAME_LIMIT]


def _contact(lead: SinkLead, contact_id: int | None) -> dict[str, Any] | None:
    if contact_id is not None:
        return {"id": contact_id}
    fields = []
    if lead.phone:
        fields.append({"field_code": "PHONE", "values": [{"value": lead.phone, "enum_code": "WORK"}]})
    if lead.email:
        fields.append({"field_code": "EMAIL", "values": [{"value": lead.email, "enum_code": "WORK"}]})
    if not fields and not lead.name:
        return None
    body: dict[str, Any] = {"name": lead.name or _pretty(lead.phone) or lead.email}
    if fields:
        body["custom_fields_values"] = fields
    return body


def _lead(lead: SinkLead, s: AmoCrmSettings) -> dict[str, Any]:
    body: dict[str, Any] = {"name": lead_name(lead)}
    if lead.budget:
        body["price"] = int(lead.budget)
    fields = [{"field_code": code, "values": [{"value": str(lead.utm[key])[:255]}]}
              for key, code in UTM_CODES.items() if lead.utm.get(key)]
    if fields:
        body["custom_fields_values"] = fields
    if lead.manager and lead.manager in s.responsible:
        body["responsible_user_id"] = s.responsible[lead.manager]
    return body


def _embedded(lead: SinkLead, s: AmoCrmSettings, contact_id: int | None) -> dict[str, Any]:
    embedded: dict[str, Any] = {"leads": [_lead(lead, s)]}
    contact = _contact(lead, contact_id)
    if contact is not None:
        embedded["contacts"] = [contact]
    return embedded


def unsorted_category(lead: SinkLead) -> str:
    """Only `sip` and `forms` items can be created through the API: calls are `sip`, the rest `forms`."""
    return "sip" if lead.kind == "call" else "forms"


def _common(lead: SinkLead, s: AmoCrmSettings, request_id: str) -> dict[str, Any]:
    item: dict[str, Any] = {"request_id": request_id, "source_uid": request_id,
                            "source_name": f"{s.source_name}: {lead.source}" if lead.source else s.source_name,
                            "created_at": int(lead.received_at.timestamp())}
    if s.pipeline_id is not None:
        item["pipeline_id"] = s.pipeline_id
    return item


def sip_item(lead: SinkLead, s: AmoCrmSettings, request_id: str, contact_id: int | None) -> dict[str, Any]:
    """A call as an Unsorted item of category `sip`: the caller, the line, the duration, the recording."""
    meta: dict[str, Any] = {"is_call_event_needed": True, "uniq": request_id, "duration": lead.duration_s or 0,
                            "service_code": s.service_code, "phone": lead.phone or "",
                            "called_at": int(lead.received_at.timestamp()),
                            "from": lead.line or lead.phone or ""}
    if lead.recording_link:
        meta["link"] = lead.recording_link
    responsible = s.responsible.get(lead.manager) if lead.manager else None
    if responsible is not None:
        meta["call_responsible"] = responsible
    elif lead.manager:
        meta["call_responsible"] = lead.manager
    return {**_common(lead, s, request_id), "metadata": meta, "_embedded": _embedded(lead, s, contact_id)}


def forms_item(lead: SinkLead, s: AmoCrmSettings, request_id: str, contact_id: int | None) -> dict[str, Any]:
    """Any other lead as an Unsorted item of category `forms` (a form, a mail, a chat, a lead entered by hand)."""
    page = str(lead.custom.get("page") or lead.custom.get("form_page") or lead.card_link or "")
    meta: dict[str, Any] = {"form_id": f"{lead.channel}:{lead.account or ''}"[:255],
                            "form_name": (lead.source or lead.account or lead.channel)[:255], "form_page": page,
                            "form_sent_at": int(lead.received_at.timestamp())}
    for ours, theirs in (("ip", "ip"), ("referrer", "referer"), ("visitor", "visitor_uid")):
        if lead.custom.get(ours):
            meta[theirs] = str(lead.custom[ours])
    return {**_common(lead, s, request_id), "metadata": meta, "_embedded": _embedded(lead, s, contact_id)}


def complex_lead(lead: SinkLead, s: AmoCrmSettings, request_id: str, contact_id: int | None) -> dict[str, Any]:
    """A lead our rules sent straight to a stage: lead + contact + company in one `POST /api/v4/leads/complex`."""
    body = {**_lead(lead, s), "request_id": request_id}
    if s.pipeline_id is not None:
        body["pipeline_id"] = s.pipeline_id
    if lead.stage and lead.stage in s.stages:
        body["status_id"] = s.stages[lead.stage]
    embedded: dict[str, Any] = {}
    contact = _contact(lead, contact_id)
    if contact is not None:
        embedded["contacts"] = [contact]
    if lead.company:
        embedded["companies"] = [{"name": lead.company[:NAME_LIMIT]}]
    if embedded:
        body["_embedded"] = embedded
    return body


def first_note(lead: SinkLead) -> str | None:
    """What an Unsorted item or a complex lead has no field for: the text, the form's fields, the files' links."""
    lines: list[str] = []
    if lead.kind != "call":
        if lead.subject and lead.kind == "mail":
            lines.append(f"Тема: {lead.subject}")
        if lead.text:
            lines.append(lead.text.strip())
        fields = lead.custom.get("fields")
        if isinstance(fields, Mapping):
            lines += [f"{k}: {v}" for k, v in fields.items() if v not in (None, "")]
    for f in lead.files:
        lines.append(f"Файл: {f.name}" + (f" — {f.link}" if f.link else ""))
    if lead.company and lead.position:
        lines.append(f"Должность: {lead.position}")
    if not lines:
        return None
    if lead.card_link:
        lines.append(f"Карточка в шлюзе: {lead.card_link}")
    return "\n".join(lines)[:20000]


def note_body(text: str, request_id: str) -> list[dict[str, Any]]:
    """`POST /api/v4/leads/{id}/notes`: one common note."""
    return [{"note_type": "common", "params": {"text": text}, "request_id": request_id}]


def _values(contact: Mapping[str, Any], code: str) -> list[str]:
    out = []
    for f in contact.get("custom_fields_values") or []:
        if isinstance(f, Mapping) and f.get("field_code") == code:
            out += [str(v.get("value", "")) for v in f.get("values") or [] if isinstance(v, Mapping)]
    return out


def contact_matches(contact: Mapping[str, Any], *, phone: str | None, email: str | None, region: str = "RU") -> bool:
    """The search is full-text over filled fields: keep only a contact whose phone or e-mail is ours exactly."""
    from gateway.core.normalise import normalise_email, normalise_phone

    if phone and any(normalise_phone(v, region) == phone for v in _values(contact, "PHONE")):
        return True
    return bool(email and any(normalise_email(v) == email for v in _values(contact, "EMAIL")))
