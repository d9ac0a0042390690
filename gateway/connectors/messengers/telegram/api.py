"""Calls to the Bot API: getFile and the file download, sendMessage, setWebhook.

Every method answers `{"ok": true, "result": …}` or `{"ok": false, "error_code", "description",
"parameters": {"retry_after"}}` (core.telegram.org/bots/api#making-requests). The bot token is
part of every URL: URLs are never logged.
"""

from __future__ import annotations

from typing import Any

import httpx

from gateway.config.messengers import TelegramSettings
from gateway.connectors.base import ParseContext
from gateway.connectors.messengers.media import PendingMedia, omitted, stored, too_large
from gateway.connectors.messengers.upstream import call, call_once, download
from gateway.core.errors import PayloadError, PermanentUpstreamError, TransientUpstreamError
from gateway.core.models import AttachmentRef
from gateway.egress import AsyncOutboundClient

__all__ = ["bot_result", "fetch_file", "send_reply", "set_webhook", "webhook_call"]

MAX_TEXT = 4096
ALLOWED_UPDATES = ["message", "edited_message", "business_message", "edited_business_message",
                   "deleted_business_messages"]

_REFUSALS = (
    ("bot was blocked by the user", "the person has blocked the bot; Telegram will not deliver the reply"),
    ("user is deactivated", "the person's Telegram account is deleted"),
    ("chat not found", "Telegram does not know this chat (the person never wrote to the bot?)"),
    ("bot can't initiate conversation", "the person has not started a conversation with the bot"),
    ("not enough rights", "the bot may not write in this chat"),
    ("unauthorized", "Telegram refused the bot token (check messengers.telegram.token)"),
    ("file is too big", "the file is larger than Telegram lets bots download"),
)


def _method(bot: TelegramSettings, method: str) -> str:
    return f"{bot.api_url.rstrip('/')}/bot{bot.token}/{method}"


def bot_result(response: httpx.Response) -> Any:
    """The `result` of a Bot API answer, or our error: transient (429, 5xx) or permanent, in plain words."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        data = {}
    if response.status_code < 400 and data.get("ok") is True:
        return data.get("result")
    code = data.get("error_code") or response.status_code
    description = str(data.get("description") or f"HTTP {response.status_code}")
    if code == 429 or response.status_code == 429 or response.status_code >= 500:
        retry_after = (data.get("parameters") or {}).get("retry_after")
        raise TransientUpstreamError(f"Telegram: {description}", status=code,
                                     retry_after=float(retry_after) if retry_after is not None else None)
    lowered = description.lower()
    human = next((text for needle, text in _REFUSALS if needle in lowered), "Telegram refused the request")
    raise PermanentUpstreamError(f"{human} ({description})", status=code, description=description)


def fetch_file(media: PendingMedia, bot: TelegramSettings, ctx: ParseContext) -> AttachmentRef:
    """getFile, then the file itself; over the limit or refused, the file is recorded as omitted."""
    limit = bot.max_media_bytes
    if media.size and media.size > limit:
        return omitted(media, too_large(limit))
    try:
        info = call_once(ctx.http, "POST", _method(bot, "getFile"), bot_result, json={"file_id": media.file_id})
        if not isinstance(info, dict) or not info.get("file_path"):
            return omitted(media, "Telegram gave no download path for the file")
        if int(info.get("file_size") or 0) > limit:
            return omitted(media, too_large(limit))
        url = f"{bot.api_url.rstrip('/')}/file/bot{bot.token}/{info['file_path']}"
        data = download(ctx.http, url, limit=limit)
    except PermanentUpstreamError as exc:
        if "too big" in str(exc.details.get("description", "")).lower():
            return omitted(media, too_large(min(limit, 20 * 1024 * 1024)))
        return omitted(media, f"download refused: {exc.message}")
    return stored(ctx.files, data, media, limit)


async def send_reply(bot: TelegramSettings, chat_id: str | int, text: str, http: AsyncOutboundClient) -> dict[str, Any]:
    """sendMessage; returns the sent Message. Raises PermanentUpstreamError in plain words on refusal."""
    if not text.strip():
        raise PayloadError("the reply is empty")
    if len(text) > MAX_TEXT:
        raise PayloadError(f"a Telegram message holds at most {MAX_TEXT} characters")
    result = await call(http, "POST", _method(bot, "sendMessage"), bot_result,
                        json={"chat_id": int(chat_id), "text": text})
    return dict(result)


async def webhook_call(bot: TelegramSettings, method: str, http: AsyncOutboundClient,
                       payload: dict[str, Any] | None = None) -> Any:
    """getWebhookInfo, deleteWebhook and the like."""
    return await call(http, "POST", _method(bot, method), bot_result, json=payload or {})


async def set_webhook(bot: TelegramSettings, url: str, http: AsyncOutboundClient, *,
                      allowed_updates: list[str] | None = None, drop_pending_updates: bool = False,
                      max_connections: int | None = None) -> Any:
    """setWebhook with the bot's secret_token, so that every update carries it in a header."""
    payload: dict[str, Any] = {
        "url": url,
        "secret_token": bot.secret_token,
        "allowed_updates": ALLOWED_UPDATES if allowed_updates is None else allowed_updates,
        "drop_pending_updates": drop_pending_updates,
    }
    if max_connections is not None:
        payload["max_connections"] = max_connections
    return await webhook_call(bot, "setWebhook", http, payload)
