"""Telegram Bot API webhooks: `POST /hooks/telegram/{bot}`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.config.messengers import TelegramSettings
from gateway.connectors.base import EdgeOutcome, InboundRequest, NewEvent, ParseContext, Reply, Route, StoredEvent
from gateway.connectors.messengers.connector import MessengerConnector, Reading
from gateway.connectors.messengers.edge import header, json_object, secrets_match
from gateway.connectors.messengers.media import PendingMedia
from gateway.connectors.messengers.telegram.api import fetch_file
from gateway.connectors.messengers.telegram.messages import read_update
from gateway.core.errors import PayloadError, SignatureError
from gateway.core.models import AttachmentRef

__all__ = ["SECRET_HEADER", "TelegramConnector"]

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


def _kind_and_chat(update: dict[str, Any]) -> tuple[str | None, str | None]:
    """The update's type (its one optional field) and the chat it belongs to, if any."""
    for name, value in update.items():
        if name == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat")
        if not isinstance(chat, dict):
            inner = value.get("message")
            chat = inner.get("chat") if isinstance(inner, dict) else None
        chat_id = chat.get("id") if isinstance(chat, dict) else None
        return name, (str(chat_id) if chat_id is not None else None)
    return None, None


class TelegramConnector(MessengerConnector[TelegramSettings]):
    """Bots registered with setWebhook and a secret_token."""

    channel = "telegram"
    what = "bot"

    def accounts(self) -> Sequence[TelegramSettings]:
        return self.settings.messengers.telegram

    def routes(self) -> list[Route]:
        return [Route("POST", "/hooks/telegram/{bot}", self.receive, max_body_bytes=1 << 20, name="telegram")]

    async def receive(self, request: InboundRequest) -> EdgeOutcome:
        """Check the secret header, then store the update under `update:{update_id}`."""
        bot = self.account(request.match["bot"])
        if not secrets_match(header(request, SECRET_HEADER), bot.secret_token):
            raise SignatureError("secret token does not match")
        body = await request.read()
        update = json_object(body)
        update_id = update.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise PayloadError("update_id is missing or not an integer")
        kind, chat = _kind_and_chat(update)
        event = NewEvent(connector=self.channel, account=bot.bot, key=f"update:{update_id}", body=body,
                         received_at=request.received_at, name=kind or "update", group_key=chat)
        return EdgeOutcome(events=[event], reply=Reply(status=200))

    def read(self, event: StoredEvent, account: TelegramSettings) -> Reading:
        return read_update(event, account)

    def fetch(self, media: PendingMedia, account: TelegramSettings, ctx: ParseContext) -> AttachmentRef:
        return fetch_file(media, account, ctx)
