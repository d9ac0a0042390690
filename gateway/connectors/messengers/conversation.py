"""A chat message reduced to what a conversation needs, and its Interaction."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.core.models import (
    AttachmentRef,
    Channel,
    Direction,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
    MessageRef,
)
from gateway.core.normalise import find_phones

if TYPE_CHECKING:
    from gateway.config.messengers import _Messenger

__all__ = ["ChatMessage", "conversation_key", "message_key", "phones_in_text", "source_for", "to_interaction"]

_IDENTITY = {Channel.TELEGRAM: IdentityKind.TELEGRAM, Channel.VK: IdentityKind.VK,
             Channel.WHATSAPP: IdentityKind.WHATSAPP}
_PLAIN_REFERRAL = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def conversation_key(channel: Channel | str, account: str, chat_id: str) -> str:
    """`provider:account:chat`: later messages join the open lead with this key."""
    return f"{Channel(channel).value}:{account}:{chat_id}"


def message_key(channel: Channel | str, account: str, chat_id: str, message_id: str) -> str:
    """`provider:account:chat:message`: one conversation entry, and the lead key of a first message."""
    return f"{conversation_key(channel, account, chat_id)}:{message_id}"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One incoming message (or its edit, or its deletion) as a provider told it."""

    channel: Channel
    account: str
    chat_id: str
    message_id: str
    person_id: str | None  # the author's id at the provider (None: not known, e.g. a deletion)
    at: datetime
    text: str | None = None
    name: str | None = None
    username: str | None = None
    phones: tuple[str, ...] = ()  # numbers the provider vouches for (a shared own contact, a wa_id)
    source: str | None = None
    referral: dict[str, Any] | None = None
    edited: bool = False
    deleted: bool = False
    attachments: tuple[AttachmentRef, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def conversation_key(self) -> str:
        return conversation_key(self.channel, self.account, self.chat_id)

    @property
    def key(self) -> str:
        return message_key(self.channel, self.account, self.chat_id, self.message_id)

    def with_extras(self, name: str | None, attachments: list[AttachmentRef]) -> ChatMessage:
        """The same message with a name learnt later and the files fetched so far."""
        merged = list(self.attachments)
        seen = {(a.file_id, a.name) for a in merged}
        for a in attachments:
            if (a.file_id, a.name) not in seen:
                merged.append(a)
                seen.add((a.file_id, a.name))
        return replace(self, name=self.name or name, attachments=tuple(merged))


def source_for(account: _Messenger, referral: str | None = None) -> str:
    """The lead's source: a configured referral, a plain referral as is, else the account's `source` (by default
    the messenger's name, "Telegram", "ВКонтакте", "WhatsApp", never the bot's technical name)."""
    if referral:
        if referral in account.referral_sources:
            return account.referral_sources[referral]
        if _PLAIN_REFERRAL.match(referral):
            return referral
    return account.source or account.default_source


def phones_in_text(text: str | None, region: str) -> list[str]:
    """Valid phone numbers written in free text, in E.164."""
    return find_phones(text, region, limit=None)


def _identities(msg: ChatMessage, region: str) -> list[IdentityRef]:
    ids: list[IdentityRef] = []
    if msg.person_id:
        ids.append(IdentityRef(kind=_IDENTITY[msg.channel], value=msg.person_id))
    phones: list[str] = []
    for raw in (*msg.phones, *phones_in_text(msg.text, region)):
        if raw not in phones:
            phones.append(raw)
    ids.extend(IdentityRef(kind=IdentityKind.PHONE, value=p) for p in phones)
    return ids


def to_interaction(msg: ChatMessage, region: str) -> Interaction:
    """The Interaction of one chat message: a lead for a new person, a conversation entry otherwise."""
    author = msg.name or (f"@{msg.username}" if msg.username else msg.person_id)
    ref = MessageRef(
        key=msg.key, direction=Direction.IN, at=msg.at, author=author, text=msg.text,
        attachments=list(msg.attachments), edited=msg.edited, deleted=msg.deleted, data=dict(msg.data),
    )
    custom: dict[str, Any] = {"chat_id": msg.chat_id}
    if msg.username:
        custom["username"] = msg.username
    if msg.referral:
        custom["referral"] = msg.referral
    return Interaction(
        key=msg.key,
        channel=msg.channel,
        kind=Kind.CHAT,
        direction=Direction.IN,
        occurred_at=msg.at,
        account=msg.account,
        name=msg.name,
        identities=_identities(msg, region),
        text=msg.text,
        source=msg.source,
        custom=custom,
        attachments=list(msg.attachments),
        messages=[ref],
        conversation_key=msg.conversation_key,
        history_only=msg.deleted and msg.text is None and not msg.attachments,  # an unknown deleted message
    )
