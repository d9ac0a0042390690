"""An operator's answer to a chat lead, sent through the messenger its conversation came from."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from gateway.connectors.messengers.conversation import message_key
from gateway.connectors.messengers.edge import find_account
from gateway.connectors.messengers.telegram import api as telegram
from gateway.connectors.messengers.vk import api as vk
from gateway.connectors.messengers.whatsapp import api as whatsapp
from gateway.core.errors import PayloadError, PermanentUpstreamError
from gateway.core.models import Channel, Direction, MessageRef
from gateway.egress import AsyncOutboundClient

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["reply", "split_conversation_key"]

log = structlog.get_logger(__name__)


def split_conversation_key(conversation_key: str) -> tuple[Channel, str, str]:
    """`provider:account:chat` → its three parts, or PayloadError."""
    parts = conversation_key.split(":")
    if len(parts) != 3 or not all(parts):
        raise PayloadError("not a messenger conversation key")
    try:
        channel = Channel(parts[0])
    except ValueError:
        raise PayloadError(f"not a messenger: {parts[0]!r}") from None
    if channel not in (Channel.TELEGRAM, Channel.VK, Channel.WHATSAPP):
        raise PayloadError(f"not a messenger: {parts[0]!r}")
    return channel, parts[1], parts[2]


async def _send(settings: Settings, channel: Channel, account: str, chat: str, text: str,
                http: AsyncOutboundClient) -> tuple[str, datetime | None, dict[str, Any]]:
    """Send through one provider; returns the provider's message id, its time if told, and its answer."""
    messengers = settings.messengers
    if channel is Channel.TELEGRAM:
        bot = find_account(messengers.telegram, account, "telegram bot")
        sent = await telegram.send_reply(bot, chat, text, http)
        at = datetime.fromtimestamp(sent["date"], UTC) if isinstance(sent.get("date"), int) else None
        return str(sent["message_id"]), at, {"message_id": sent["message_id"]}
    if channel is Channel.VK:
        group = find_account(messengers.vk, account, "vk group")
        sent = await vk.send_reply(group, chat, text, http)
        return str(sent["message_id"]), None, sent
    number = find_account(messengers.whatsapp, account, "whatsapp account")
    sent = await whatsapp.send_reply(number, chat, text, http)
    messages = sent.get("messages") or [{}]
    return str(messages[0].get("id")), None, {"message_id": messages[0].get("id"),
                                              "message_status": messages[0].get("message_status")}


async def reply(settings: Settings, conversation_key: str, text: str, http: AsyncOutboundClient, *,
                now: datetime | None = None, author: str | None = None) -> MessageRef:
    """Send `text` to the chat of `conversation_key`; returns the outgoing entry to record.

    Raises PermanentUpstreamError with a plain-words reason when the provider refuses
    (blocked bot, closed 24-hour window, no permission), after transient errors were retried.
    """
    channel, account, chat = split_conversation_key(conversation_key)
    try:
        message_id, at, data = await _send(settings, channel, account, chat, text, http)
    except PermanentUpstreamError as exc:
        log.warning("messenger.reply_refused", channel=channel.value, account=account,
                    code=exc.details.get("status"), reason=exc.message)
        raise
    log.info("messenger.reply_sent", channel=channel.value, account=account, chars=len(text))
    return MessageRef(
        key=message_key(channel, account, chat, message_id), direction=Direction.OUT,
        at=at or now or datetime.now(UTC), author=author, text=text, data={channel.value: data},
    )
