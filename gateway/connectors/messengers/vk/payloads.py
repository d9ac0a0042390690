"""The parts of VK Callback API events the gateway reads (VKCOM/vk-api-schema, API 5.199)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Attachment", "Callback", "LeadForm", "VkMessage"]

CHAT_PEER_BASE = 2_000_000_000  # peer ids above this are group chats


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class PhotoSize(_Payload):
    type: str | None = None
    url: str
    width: int = 0
    height: int = 0


class Photo(_Payload):
    id: int
    owner_id: int
    sizes: list[PhotoSize] = Field(default_factory=list)
    orig_photo: PhotoSize | None = None


class Doc(_Payload):
    id: int
    owner_id: int
    title: str = ""
    size: int | None = None
    ext: str | None = None
    url: str | None = None


class AudioMessage(_Payload):
    id: int
    owner_id: int
    duration: int | None = None
    link_ogg: str | None = None
    link_mp3: str | None = None


class Attachment(_Payload):
    type: str
    photo: Photo | None = None
    doc: Doc | None = None
    audio_message: AudioMessage | None = None


class VkMessage(_Payload):
    """`messages_message`: required id, date, peer_id, from_id, text, conversation_message_id, out."""

    id: int = 0
    conversation_message_id: int | None = None
    date: int
    peer_id: int
    from_id: int
    text: str = ""
    out: int = 0
    update_time: int | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    ref: str | None = None
    ref_source: str | None = None
    geo: dict[str, Any] | None = None
    reply_message: dict[str, Any] | None = None
    fwd_messages: list[dict[str, Any]] = Field(default_factory=list)


class LeadAnswer(_Payload):
    key: str
    question: str | None = None
    answer: Any = None


class LeadForm(_Payload):
    """`lead_forms_new`: a VK lead-ads form filled in by a user."""

    lead_id: int
    group_id: int | None = None
    user_id: int
    form_id: int
    form_name: str | None = None
    ad_id: int | None = None
    answers: list[LeadAnswer] = Field(default_factory=list)


class Callback(_Payload):
    type: str
    group_id: int | None = None
    event_id: str
    v: str | None = None
    object: dict[str, Any] = Field(default_factory=dict)
