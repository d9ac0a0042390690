"""From a stored Telegram update to conversation entries (pure: no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from gateway.config.messengers import TelegramSettings
from gateway.connectors.base import StoredEvent
from gateway.connectors.messengers.connector import Reading
from gateway.connectors.messengers.conversation import ChatMessage, message_key, source_for
from gateway.connectors.messengers.media import PendingMedia, safe_name
from gateway.connectors.messengers.telegram.payloads import (
    CHANNEL_FIELDS,
    BusinessMessagesDeleted,
    FileRef,
    Message,
    Update,
)
from gateway.core.errors import PayloadError
from gateway.core.models import Channel

__all__ = ["read_update"]

# (field, kind, default name, default content type)
_FILES = (
    ("document", "document", "document", None),
    ("voice", "voice", "voice_{}.ogg", "audio/ogg"),
    ("audio", "audio", "audio_{}.mp3", "audio/mpeg"),
    ("video", "video", "video_{}.mp4", "video/mp4"),
    ("video_note", "video", "video_note_{}.mp4", "video/mp4"),
    ("animation", "video", "animation_{}.mp4", "video/mp4"),
)


def _at(unix: int) -> datetime:
    return datetime.fromtimestamp(unix, UTC)


def read_update(event: StoredEvent, bot: TelegramSettings) -> Reading:
    """What one update says: a message, its edit, deleted messages, or why it is not a lead."""
    try:
        update = Update.model_validate_json(event.body)
    except ValidationError as exc:
        raise PayloadError(f"not a Telegram update: {exc.error_count()} errors") from None
    for name in ("message", "edited_message", "business_message", "edited_business_message"):
        message: Message | None = getattr(update, name)
        if message is not None:
            return _message(message, bot, edited=name.startswith("edited"), business=name.endswith("business_message"))
    if any(getattr(update, name) is not None for name in CHANNEL_FIELDS):
        return Reading(result={"ignored": "channel post"})
    if update.deleted_business_messages is not None:
        return _deleted(update.deleted_business_messages, bot, event.received_at)
    return Reading(result={"ignored": "update type not handled", "type": event.name})


def _ignored(reason: str) -> Reading:
    return Reading(result={"ignored": reason})


def _message(msg: Message, bot: TelegramSettings, *, edited: bool, business: bool) -> Reading:
    author = msg.from_
    if msg.sender_chat is not None:
        return _ignored("posted on behalf of a chat")
    if author is None:
        return _ignored("no author")
    if author.is_bot:
        return _ignored("message from a bot")
    if business and author.id != msg.chat.id:
        return _ignored("sent by the business account")
    key = message_key(Channel.TELEGRAM, bot.bot, str(msg.chat.id), str(msg.message_id))
    media = _media(msg, key)
    text, data = _content(msg)
    if text is None and not media:
        return _ignored("service message")
    referral = None
    if msg.text and msg.text.startswith("/start "):
        referral = msg.text.removeprefix("/start ").strip() or None
    phones: tuple[str, ...] = ()
    if msg.contact is not None and msg.contact.user_id == author.id:
        phones = (msg.contact.phone_number,)
    name = " ".join(p for p in (author.first_name, author.last_name) if p) or None
    chat = ChatMessage(
        channel=Channel.TELEGRAM, account=bot.bot, chat_id=str(msg.chat.id), message_id=str(msg.message_id),
        person_id=str(author.id), at=_at(msg.date), text=text, name=name, username=author.username,
        phones=phones, source=source_for(bot, referral),
        referral={"start": referral} if referral else None, edited=edited, data=data,
    )
    return Reading(messages=[chat], media=media)


def _content(msg: Message) -> tuple[str | None, dict[str, Any]]:
    """The text to show, and what else the message held (kept on the conversation entry)."""
    data: dict[str, Any] = {}
    if msg.edit_date:
        data["edited_at"] = _at(msg.edit_date).isoformat()
    if msg.reply_to_message is not None:
        data["reply_to"] = msg.reply_to_message.message_id
    if msg.business_connection_id:
        data["business_connection_id"] = msg.business_connection_id
    if msg.chat.type != "private":
        data["chat_type"] = msg.chat.type
    text = msg.text or msg.caption
    if msg.contact is not None:
        c = msg.contact
        data["contact"] = {"phone_number": c.phone_number, "first_name": c.first_name,
                           "last_name": c.last_name, "user_id": c.user_id}
        text = text or "[contact] " + " ".join(p for p in (c.first_name, c.last_name) if p)
    if msg.location is not None:
        data["location"] = {"latitude": msg.location.latitude, "longitude": msg.location.longitude}
        text = text or "[location]"
    if msg.sticker is not None:
        text = text or f"[sticker {msg.sticker.emoji or ''}]".replace(" ]", "]")
    return text, data


def _media(msg: Message, key: str) -> list[PendingMedia]:
    if msg.photo:
        largest = max(msg.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return [PendingMedia(message_key=key, file_id=largest.file_id, unique_id=largest.file_unique_id,
                             kind="photo", name=f"photo_{largest.file_unique_id}.jpg", content_type="image/jpeg",
                             size=largest.file_size)]
    for field, kind, default, content_type in _FILES:
        ref: FileRef | None = getattr(msg, field)
        if ref is not None:
            fallback = default.format(ref.file_unique_id) if "{}" in default else f"{default}_{ref.file_unique_id}"
            name = safe_name(ref.file_name, fallback) if ref.file_name else fallback
            return [PendingMedia(message_key=key, file_id=ref.file_id, unique_id=ref.file_unique_id, kind=kind,
                                 name=name, content_type=ref.mime_type or content_type, size=ref.file_size)]
    return []


def _deleted(deleted: BusinessMessagesDeleted, bot: TelegramSettings, received_at: datetime) -> Reading:
    chat = deleted.chat
    person = str(chat.id) if chat.type == "private" else None
    messages = [
        ChatMessage(channel=Channel.TELEGRAM, account=bot.bot, chat_id=str(chat.id), message_id=str(mid),
                    person_id=person, at=received_at, deleted=True, source=source_for(bot),
                    data={"business_connection_id": deleted.business_connection_id})
        for mid in deleted.message_ids
    ]
    return Reading(messages=messages)
