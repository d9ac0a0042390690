"""From a stored VK callback to conversation entries or a lead-form lead (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from gateway.config.messengers import VkSettings
from gateway.connectors.base import StoredEvent
from gateway.connectors.messengers.connector import Reading
from gateway.connectors.messengers.conversation import ChatMessage, message_key, source_for
from gateway.connectors.messengers.media import PendingMedia, safe_name
from gateway.connectors.messengers.vk.payloads import CHAT_PEER_BASE, Attachment, Callback, LeadForm, VkMessage
from gateway.core.errors import PayloadError
from gateway.core.models import Channel, IdentityKind, IdentityRef, Interaction, Kind

__all__ = ["MAX_ATTACHMENTS", "read_callback"]

MAX_ATTACHMENTS = 10  # what VK lets a message carry; more is not VK, and is not fetched

_NOT_LEADS = {
    "message_reply": "outgoing message",
    "message_allow": "the person allowed messages from the community",
    "message_deny": "the person denied messages from the community",
    "message_typing_state": "typing",
    "message_read": "read receipt",
}


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def read_callback(event: StoredEvent, group: VkSettings) -> Reading:
    """What one callback says: a message or its edit, a lead form, or why it is not a lead."""
    try:
        callback = Callback.model_validate_json(event.body)
        if callback.type == "message_new":
            raw = callback.object.get("message", callback.object)  # API < 5.103 sent the message itself
            return _message(VkMessage.model_validate(raw), group, edited=False)
        if callback.type == "message_edit":
            return _message(VkMessage.model_validate(callback.object), group, edited=True)
        if callback.type == "lead_forms_new":
            return _lead_form(LeadForm.model_validate(callback.object), group, event.received_at)
    except ValidationError as exc:
        raise PayloadError(f"not a VK callback: {exc.error_count()} errors") from None
    result: dict[str, Any] = {"ignored": _NOT_LEADS.get(callback.type, "event type not handled"),
                              "type": callback.type}
    if "user_id" in callback.object:
        result["user_id"] = callback.object["user_id"]
    return Reading(result=result)


def _message(msg: VkMessage, group: VkSettings, *, edited: bool) -> Reading:
    if msg.out:
        return Reading(result={"ignored": "outgoing message"})
    if msg.from_id <= 0:
        return Reading(result={"ignored": "message from a community"})
    message_id = str(msg.id) if msg.id else f"c{msg.conversation_message_id}"
    key = message_key(Channel.VK, group.group, str(msg.peer_id), message_id)
    attachments = msg.attachments[:MAX_ATTACHMENTS]
    media = [m for a in attachments if (m := _media(a, key)) is not None]
    others = [a.type for a in attachments if a.type not in ("photo", "doc", "audio_message")]
    text = msg.text or None
    if text is None and others:
        text = " ".join(f"[{t}]" for t in others)
    if text is None and not media and msg.geo:
        text = "[location]"
    if text is None and not media:
        return Reading(result={"ignored": "empty message"})
    data: dict[str, Any] = {"conversation_message_id": msg.conversation_message_id}
    if others:
        data["other_attachments"] = others
    if len(msg.attachments) > MAX_ATTACHMENTS:
        data["attachments_over_limit"] = len(msg.attachments) - MAX_ATTACHMENTS
    if msg.geo:
        data["geo"] = msg.geo
    if edited and msg.update_time:
        data["edited_at"] = _at(msg.update_time).isoformat()
    if msg.peer_id >= CHAT_PEER_BASE:
        data["chat_type"] = "chat"
    referral = {k: v for k, v in (("ref", msg.ref), ("ref_source", msg.ref_source)) if v} or None
    chat = ChatMessage(
        channel=Channel.VK, account=group.group, chat_id=str(msg.peer_id), message_id=message_id,
        person_id=str(msg.from_id), at=_at(msg.date), text=text,
        source=source_for(group, msg.ref), referral=referral, edited=edited, data=data,
    )
    return Reading(messages=[chat], media=media)


def _media(attachment: Attachment, key: str) -> PendingMedia | None:
    if attachment.photo is not None:
        p = attachment.photo
        sizes = [*p.sizes, *([p.orig_photo] if p.orig_photo else [])]
        if not sizes:
            return None
        largest = max(sizes, key=lambda s: s.width * s.height)
        ident = f"{p.owner_id}_{p.id}"
        return PendingMedia(message_key=key, file_id=ident, unique_id=ident, kind="photo",
                            name=f"photo_{ident}.jpg", content_type="image/jpeg", url=largest.url)
    if attachment.doc is not None:
        d = attachment.doc
        ident = f"{d.owner_id}_{d.id}"
        title = d.title if not d.ext or d.title.lower().endswith(f".{d.ext.lower()}") else f"{d.title}.{d.ext}"
        return PendingMedia(message_key=key, file_id=ident, unique_id=ident, kind="document",
                            name=safe_name(title, f"document_{ident}"), size=d.size, url=d.url)
    if attachment.audio_message is not None:
        a = attachment.audio_message
        ident = f"{a.owner_id}_{a.id}"
        url = a.link_ogg or a.link_mp3
        ogg = bool(a.link_ogg)
        return PendingMedia(message_key=key, file_id=ident, unique_id=ident, kind="voice",
                            name=f"voice_{ident}.{'ogg' if ogg else 'mp3'}",
                            content_type="audio/ogg" if ogg else "audio/mpeg", url=url)
    return None


def _answer(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _lead_form(form: LeadForm, group: VkSettings, received_at: datetime) -> Reading:
    answers = {a.key: _answer(a.answer) for a in form.answers}
    identities = [IdentityRef(kind=IdentityKind.VK, value=str(form.user_id))]
    if answers.get("phone_number"):
        identities.append(IdentityRef(kind=IdentityKind.PHONE, value=answers["phone_number"]))
    if answers.get("email"):
        identities.append(IdentityRef(kind=IdentityKind.EMAIL, value=answers["email"]))
    name = " ".join(answers[k] for k in ("first_name", "patronymic_name", "last_name") if answers.get(k)) or None
    text = "\n".join(f"{a.question or a.key}: {_answer(a.answer)}" for a in form.answers)
    source = group.referral_sources.get(f"form:{form.form_id}") or form.form_name or source_for(group)
    interaction = Interaction(
        key=f"vk:{group.group}:lead_form:{form.lead_id}", channel=Channel.VK, kind=Kind.FORM,
        occurred_at=received_at, account=group.group, name=name, identities=identities, text=text or None,
        source=source, custom={"form_id": form.form_id, "form_name": form.form_name, "ad_id": form.ad_id,
                               "lead_id": form.lead_id, "answers": answers},
    )
    return Reading(interactions=[interaction], result={"lead_form": form.lead_id})
