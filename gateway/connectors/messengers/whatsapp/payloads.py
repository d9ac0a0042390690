"""The parts of WhatsApp Cloud API `messages` webhooks the gateway reads (Meta's webhook reference)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Notification", "Status", "Value", "WaMessage"]

MEDIA_TYPES = ("image", "document", "audio", "video")


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class Metadata(_Payload):
    display_phone_number: str | None = None
    phone_number_id: str | None = None


class Profile(_Payload):
    name: str | None = None


class WaContact(_Payload):
    wa_id: str
    profile: Profile | None = None


class Media(_Payload):
    id: str
    mime_type: str | None = None
    sha256: str | None = None
    caption: str | None = None
    filename: str | None = None
    voice: bool | None = None


class Text(_Payload):
    body: str = ""


class Context(_Payload):
    id: str | None = None
    forwarded: bool | None = None


class WaError(_Payload):
    code: int | None = None
    title: str | None = None
    message: str | None = None
    error_data: dict[str, Any] | None = None


class WaMessage(_Payload):
    from_: str = Field(alias="from")
    id: str
    timestamp: int
    type: str = "unknown"
    text: Text | None = None
    image: Media | None = None
    document: Media | None = None
    audio: Media | None = None
    video: Media | None = None
    sticker: Media | None = None
    location: dict[str, Any] | None = None
    contacts: list[dict[str, Any]] | None = None
    interactive: dict[str, Any] | None = None
    button: dict[str, Any] | None = None
    reaction: dict[str, Any] | None = None
    unsupported: dict[str, Any] | None = None
    context: Context | None = None
    referral: dict[str, Any] | None = None
    errors: list[WaError] = Field(default_factory=list)


class Status(_Payload):
    id: str
    status: str
    timestamp: int | None = None
    recipient_id: str | None = None
    errors: list[WaError] = Field(default_factory=list)


class Value(_Payload):
    messaging_product: str | None = None
    metadata: Metadata | None = None
    contacts: list[WaContact] = Field(default_factory=list)
    messages: list[WaMessage] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)


class Change(_Payload):
    field: str | None = None
    value: Value = Field(default_factory=Value)


class Entry(_Payload):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class Notification(_Payload):
    object: str | None = None
    entry: list[Entry] = Field(default_factory=list)
