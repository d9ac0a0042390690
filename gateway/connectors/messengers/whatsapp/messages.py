"""From a stored WhatsApp delivery to the one message or status an event stands for (pure)."""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from gateway.config.messengers import WhatsAppSettings
from gateway.connectors.base import StoredEvent
from gateway.connectors.messengers.connector import Reading
from gateway.connectors.messengers.conversation import ChatMessage, message_key, source_for
from gateway.connectors.messengers.media import PendingMedia, safe_name
from gateway.connectors.messengers.whatsapp.payloads import MEDIA_TYPES, Notification, Status, Value, WaMessage
from gateway.core.errors import PayloadError
from gateway.core.models import Channel

__all__ = ["DELIVERY", "read_delivery"]

DELIVERY = "delivery"  # the signed body of a delivery with several parts, kept once as it came


def read_delivery(event: StoredEvent, account: WhatsAppSettings) -> Reading:
    """The message (`msg:{id}`) or status (`status:{id}:{status}`) this event was stored for."""
    if event.name == DELIVERY and event.key.startswith("body:"):  # its parts are read from their own events
        return Reading(result={"ignored": "the delivery as received: each message and status is an event"})
    try:
        note = Notification.model_validate_json(event.body)
    except ValidationError as exc:
        raise PayloadError(f"not a WhatsApp notification: {exc.error_count()} errors") from None
    values = [change.value for entry in note.entry for change in entry.changes]
    if event.key.startswith("msg:"):
        wanted = event.key.removeprefix("msg:")
        for value in values:
            for msg in value.messages:
                if msg.id == wanted:
                    return _message(msg, value, account)
    elif event.key.startswith("status:"):
        wanted = event.key.removeprefix("status:").rsplit(":", 1)[0]
        for value in values:
            for status in value.statuses:
                if status.id == wanted:
                    return _status(status)
    return Reading(result={"ignored": "notification without messages", "type": event.name})


def _status(status: Status) -> Reading:
    """A delivery status of an outgoing message: not a lead, kept as the event's result."""
    errors = [{"code": e.code, "title": e.title, "details": (e.error_data or {}).get("details")}
              for e in status.errors]
    result: dict[str, Any] = {"ignored": "delivery status", "status": status.status, "message_id": status.id,
                              "recipient_id": status.recipient_id}
    if errors:
        result["errors"] = errors
    return Reading(result=result)


def _text(msg: WaMessage) -> tuple[str | None, dict[str, Any]]:
    """What the person wrote or sent, as text to show, and the structured rest."""
    data: dict[str, Any] = {"type": msg.type}
    media = getattr(msg, msg.type, None) if msg.type in (*MEDIA_TYPES, "sticker") else None
    if msg.text is not None:
        return msg.text.body, data
    if media is not None:
        return media.caption or f"[{msg.type}]", data
    if msg.interactive:
        reply = msg.interactive.get("button_reply") or msg.interactive.get("list_reply") or {}
        data["interactive"] = msg.interactive
        return str(reply.get("title") or "[interactive]"), data
    if msg.button:
        return str(msg.button.get("text") or "[button]"), data
    if msg.location:
        data["location"] = msg.location
        return "[location]", data
    if msg.contacts:
        data["contacts"] = msg.contacts
        names = [str((c.get("name") or {}).get("formatted_name") or "") for c in msg.contacts]
        return "[contact] " + ", ".join(n for n in names if n), data
    if msg.reaction:
        data["reaction"] = msg.reaction
        return f"[reaction {msg.reaction.get('emoji') or ''}]".replace(" ]", "]"), data
    if msg.unsupported or msg.errors:
        data["errors"] = [e.model_dump(exclude_none=True) for e in msg.errors]
        kind = (msg.unsupported or {}).get("type")
        return f"[unsupported message{': ' + str(kind) if kind else ''}]", data
    if msg.type == "request_welcome":
        return "[opened the chat]", data
    return f"[{msg.type}]", data


def _media(msg: WaMessage, key: str) -> list[PendingMedia]:
    if msg.type not in MEDIA_TYPES:
        return []
    media = getattr(msg, msg.type, None)
    if media is None:
        return []
    mime = (media.mime_type or "").split(";")[0].strip() or None
    kind = "voice" if msg.type == "audio" and media.voice else ("photo" if msg.type == "image" else msg.type)
    ext = mimetypes.guess_extension(mime) if mime else None
    fallback = f"{kind}_{media.id}{ext or ''}"
    name = safe_name(media.filename, fallback) if media.filename else fallback
    return [PendingMedia(message_key=key, file_id=media.id, unique_id=media.id, kind=kind, name=name,
                         content_type=mime, sha256=media.sha256)]


def _source(account: WhatsAppSettings, referral: dict[str, Any] | None) -> str:
    if not referral:
        return source_for(account)
    for ref in (referral.get("source_id"), referral.get("source_url")):
        if ref and str(ref) in account.referral_sources:
            return account.referral_sources[str(ref)]
    headline = str(referral.get("headline") or "").strip()
    return headline[:100] or source_for(account, str(referral.get("source_id") or "") or None)


def _message(msg: WaMessage, value: Value, account: WhatsAppSettings) -> Reading:
    wa_id = msg.from_
    contact = next((c for c in value.contacts if c.wa_id == wa_id), None)
    name = contact.profile.name if contact and contact.profile else None
    key = message_key(Channel.WHATSAPP, account.account, wa_id, msg.id)
    text, data = _text(msg)
    if msg.context is not None:
        if msg.context.id:
            data["reply_to"] = msg.context.id
        if msg.context.forwarded:
            data["forwarded"] = True
    if value.metadata and value.metadata.phone_number_id:
        data["phone_number_id"] = value.metadata.phone_number_id
    digits = "".join(c for c in wa_id if c.isdigit())
    chat = ChatMessage(
        channel=Channel.WHATSAPP, account=account.account, chat_id=wa_id, message_id=msg.id, person_id=wa_id,
        at=datetime.fromtimestamp(msg.timestamp, UTC), text=text, name=name,
        phones=(f"+{digits}",) if digits else (), source=_source(account, msg.referral),
        referral=msg.referral, data=data,
    )
    return Reading(messages=[chat], media=_media(msg, key))
