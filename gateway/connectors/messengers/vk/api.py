"""Calls to the VK API: messages.send, users.get, and attachment downloads.

VK answers HTTP 200 with `{"response": …}` or `{"error": {"error_code", "error_msg"}}`
(dev.vk.com/api/api-requests; codes from VKCOM/vk-api-schema errors.json). The access token
travels in the form body, never in a URL.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import structlog

from gateway.config.messengers import VkSettings
from gateway.connectors.base import ParseContext
from gateway.connectors.messengers.media import PendingMedia, omitted, stored, too_large
from gateway.connectors.messengers.upstream import call, call_once, download
from gateway.core.errors import ConfigError, PayloadError, PermanentUpstreamError, TransientUpstreamError
from gateway.core.models import AttachmentRef
from gateway.egress import AsyncOutboundClient, raise_for_status

__all__ = ["fetch_attachment", "send_reply", "user_name", "vk_result"]

log = structlog.get_logger(__name__)

MAX_TEXT = 4096
TRANSIENT = {1: "unknown error", 6: "too many requests per second", 9: "flood control",
             10: "internal server error", 29: "rate limit reached"}
REFUSALS = {
    5: "VK refused the community token (check messengers.vk.access_token)",
    7: "the community token lacks the permission (messages)",
    15: "access denied",
    27: "VK refused the community token (check messengers.vk.access_token)",
    900: "the person has blacklisted the community",
    901: "the person has not allowed messages from the community; VK can't send messages to users "
         "without permission",
    902: "the person's privacy settings do not allow messages from the community",
    914: "the message is too long",
    917: "the community has no access to this chat",
    945: "the chat is disabled",
}


def vk_result(response: httpx.Response) -> Any:
    """The `response` of a VK answer, or our error: transient (5xx, 429, rate limits) or permanent."""
    raise_for_status(response)
    try:
        data = response.json()
    except ValueError:
        raise TransientUpstreamError("VK answered something that is not JSON") from None
    if not isinstance(data, dict):
        raise PermanentUpstreamError("VK answered an unexpected shape")
    error = data.get("error")
    if error is None:
        return data.get("response")
    code = int(error.get("error_code") or 0) if isinstance(error, dict) else 0
    text = str(error.get("error_msg") or "") if isinstance(error, dict) else str(error)
    if code in TRANSIENT:
        raise TransientUpstreamError(f"VK: {text or TRANSIENT[code]}", status=code)
    human = REFUSALS.get(code, "VK refused the request")
    raise PermanentUpstreamError(f"{human} ({code}: {text})", status=code, description=text)


def _form(group: VkSettings, **params: Any) -> dict[str, str]:
    if not group.access_token:
        raise ConfigError(f"messengers.vk.{group.group}: access_token is needed to call the VK API")
    return {"access_token": group.access_token, "v": group.api_version, **{k: str(v) for k, v in params.items()}}


def _url(group: VkSettings, method: str) -> str:
    return f"{group.api_url.rstrip('/')}/{method}"


async def send_reply(group: VkSettings, peer_id: str | int, text: str, http: AsyncOutboundClient, *,
                     random_id: int | None = None) -> dict[str, Any]:
    """messages.send with a random_id chosen once, so a retried send is not delivered twice."""
    if not text.strip():
        raise PayloadError("the reply is empty")
    if len(text) > MAX_TEXT:
        raise PayloadError(f"a VK message holds at most {MAX_TEXT} characters")
    rid = random_id if random_id is not None else secrets.randbelow(2**31 - 1) + 1
    form = _form(group, peer_id=int(peer_id), random_id=rid, message=text)
    result = await call(http, "POST", _url(group, "messages.send"), vk_result, data=form)
    if isinstance(result, list) and result:  # the peer_ids form answers a list
        first = result[0]
        message_id = first.get("message_id") or first.get("conversation_message_id")
    else:
        message_id = result
    return {"message_id": message_id, "peer_id": int(peer_id), "random_id": rid}


def user_name(group: VkSettings, user_id: str, ctx: ParseContext) -> str | None:
    """users.get: the person's first and last name (None when VK refuses)."""
    try:
        users = call_once(ctx.http, "POST", _url(group, "users.get"), vk_result, data=_form(group, user_ids=user_id))
    except PermanentUpstreamError as exc:
        log.warning("vk.profile_refused", group=group.group, code=exc.details.get("status"))
        return None
    if not isinstance(users, list) or not users or not isinstance(users[0], dict):
        return None
    user = users[0]
    return " ".join(p for p in (user.get("first_name"), user.get("last_name")) if p) or None


def fetch_attachment(media: PendingMedia, group: VkSettings, ctx: ParseContext) -> AttachmentRef:
    """Download an attachment from the URL VK put in it; over the limit or refused, recorded as omitted."""
    limit = group.max_media_bytes
    if not media.url:
        return omitted(media, "VK gave no download link")
    if media.size and media.size > limit:
        return omitted(media, too_large(limit))
    try:
        data = download(ctx.http, media.url, limit=limit)
    except PermanentUpstreamError as exc:
        return omitted(media, f"download refused: {exc.message}")
    return stored(ctx.files, data, media, limit)
