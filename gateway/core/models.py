"""Domain vocabulary shared by connectors and the core pipeline (no framework imports)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AttachmentRef",
    "CallInfo",
    "Channel",
    "Direction",
    "IdentityKind",
    "IdentityRef",
    "Interaction",
    "Kind",
    "LeadStatus",
    "MessageRef",
    "Quality",
]


class Channel(StrEnum):
    MANGO = "mango"
    IMAP = "imap"
    FORMS = "forms"
    TELEGRAM = "telegram"
    VK = "vk"
    WHATSAPP = "whatsapp"
    MANUAL = "manual"


class Kind(StrEnum):
    CALL = "call"
    MAIL = "mail"
    FORM = "form"
    CHAT = "chat"
    MANUAL = "manual"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"
    INTERNAL = "internal"


class LeadStatus(StrEnum):
    UNSORTED = "unsorted"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LINKED = "linked"
    ATTACHED = "attached"


class Quality(StrEnum):
    TARGET = "target"
    REPEAT = "repeat"
    NON_TARGET = "non_target"
    UNVERIFIED = "unverified"


class IdentityKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    TELEGRAM = "telegram"
    VK = "vk"
    WHATSAPP = "whatsapp"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class IdentityRef(_Model):
    """A raw identity as a connector saw it; the pipeline normalises it."""

    kind: IdentityKind
    value: str


class AttachmentRef(_Model):
    """A file already in the file store (`file_id`), or one recorded as omitted."""

    name: str
    size: int = 0
    content_type: str = "application/octet-stream"
    file_id: str | None = None
    omitted: bool = False
    reason: str | None = None
    inline: bool = False
    role: str = "attachment"  # attachment | recording | original (the raw .eml)


class MessageRef(_Model):
    """One entry of a conversation (a chat message, a mail in a thread)."""

    key: str  # unique per provider message, e.g. "telegram:sales_bot:42:17"
    direction: Direction = Direction.IN
    at: datetime
    author: str | None = None
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    quoted: str | None = None  # the quoted reply / signature part, kept but separable
    attachments: list[AttachmentRef] = Field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    data: dict[str, Any] = Field(default_factory=dict)


class CallInfo(_Model):
    """What a call was, folded from the PBX events seen so far."""

    answered: bool | None = None
    result: str | None = None  # answered | missed | busy | rejected | unavailable | in_progress
    duration_s: int | None = None  # talk time
    ring_s: int | None = None
    line: str | None = None  # the number dialled (source of an incoming call)
    pbx_result: str | None = None  # entry_result as sent
    disconnect_reason: int | None = None
    employee_extension: str | None = None
    complete: bool = False  # the summary arrived
    recording_ids: list[str] = Field(default_factory=list)
    legs: list[dict[str, Any]] = Field(default_factory=list)


class Interaction(_Model):
    """One inquiry as a connector parsed it: the input of the core pipeline.

    `key` identifies the lead this interaction creates or updates: processing the
    same interaction twice, or a later, more complete version of it, updates one
    lead and never creates a second.
    """

    key: str
    channel: Channel
    kind: Kind
    direction: Direction = Direction.IN
    occurred_at: datetime
    account: str | None = None  # PBX account, mailbox, form id, bot, group
    name: str | None = None
    identities: list[IdentityRef] = Field(default_factory=list)
    company: str | None = None
    position: str | None = None
    budget: float | None = None
    subject: str | None = None
    text: str | None = None
    source: str | None = None  # source name chosen by the connector (line, UTM rule, mailbox, bot)
    source_advertising: bool | None = None  # when the connector knows better than the source table
    utm: dict[str, str] = Field(default_factory=dict)
    custom: dict[str, Any] = Field(default_factory=dict)  # extra form fields, page, referrer, ip...
    manager: str | None = None  # user name of the employee who took it
    manager_extension: str | None = None  # or their PBX extension
    call: CallInfo | None = None
    attachments: list[AttachmentRef] = Field(default_factory=list)
    messages: list[MessageRef] = Field(default_factory=list)
    conversation_key: str | None = None  # a chat: later messages join the open lead with this key
    reply_to: list[str] = Field(default_factory=list)  # message keys this one answers (mail threads)
    non_target_reason: str | None = None  # the connector's verdict: auto-reply, honeypot, internal...
    history_only: bool = False  # outgoing mail, imported history: contact history, never Unsorted
    pipeline: str | None = None  # routing hints (a form that skips Unsorted)
    stage: str | None = None
    recovered: bool = False  # created by reconciliation, not by a webhook
    dedupe_window_s: int | None = None  # same person, same account, within this window: one lead
    revision: int = 0  # grows as a folded interaction learns more; an older revision never overwrites a newer
    tags: list[str] = Field(default_factory=list)
