"""Calls to the WhatsApp Cloud API (Graph API): media retrieval and download, sending a text.

Errors come as `{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}`;
Meta recommends acting on `code` (Cloud API error codes reference).
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from gateway.config.messengers import WhatsAppSettings
from gateway.connectors.base import ParseContext
from gateway.connectors.messengers.media import PendingMedia, omitted, stored, too_large
from gateway.connectors.messengers.upstream import call, call_once, download
from gateway.core.errors import ConfigError, PayloadError, PermanentUpstreamError, TransientUpstreamError
from gateway.core.models import AttachmentRef
from gateway.egress import AsyncOutboundClient

__all__ = ["fetch_media", "graph_result", "send_reply"]

MAX_TEXT = 4096
TRANSIENT = {1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004}
REFUSALS = {
    131047: "more than 24 hours have passed since the person last wrote; WhatsApp now accepts only an "
            "approved template message (re-engagement)",
    131026: "WhatsApp could not deliver the message (not a WhatsApp number, or the person blocked the business)",
    131030: "the number is not in the allowed list of this test phone number",
    131031: "the business account is locked",
    131048: "WhatsApp restricts messages from this number (spam rate limit)",
    131021: "the recipient is the sender",
    368: "the business account is temporarily blocked for policy violations",
    190: "the access token has expired (messengers.whatsapp.access_token)",
    0: "WhatsApp refused the access token",
    10: "the access token lacks the permission",
    100: "WhatsApp refused a parameter of the request",
}


def graph_result(response: httpx.Response) -> dict[str, Any]:
    """The JSON answer, or our error: transient (5xx, 429, throttling codes) or permanent in plain words."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code < 400 and isinstance(data, dict) and "error" not in data:
        return data
    error = data.get("error") if isinstance(data, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code")
    details = str((error.get("error_data") or {}).get("details") or error.get("message") or
                  f"HTTP {response.status_code}")
    if code in TRANSIENT or response.status_code == 429 or response.status_code >= 500:
        retry_after = response.headers.get("retry-after")
        raise TransientUpstreamError(f"WhatsApp: {details}", status=code or response.status_code,
                                     retry_after=float(retry_after) if retry_after and retry_after.isdigit() else None)
    if code in REFUSALS:
        human = REFUSALS[code]
    elif isinstance(code, int) and 200 <= code <= 299:
        human = REFUSALS[10]
    else:
        human = "WhatsApp refused the request"
    raise PermanentUpstreamError(f"{human} ({code}: {details})", status=code, description=details)


def _auth(account: WhatsAppSettings) -> dict[str, str]:
    if not account.access_token:
        raise ConfigError(f"messengers.whatsapp.{account.account}: access_token is needed to call the Cloud API")
    return {"Authorization": f"Bearer {account.access_token}"}


def fetch_media(media: PendingMedia, account: WhatsAppSettings, ctx: ParseContext) -> AttachmentRef:
    """GET /{media-id} for the short-lived URL, then the file with the same token."""
    limit = account.max_media_bytes
    headers = _auth(account)
    try:
        info = call_once(ctx.http, "GET", f"{account.api_url.rstrip('/')}/{media.file_id}", graph_result,
                         headers=headers)
        if not info.get("url"):
            return omitted(media, "WhatsApp gave no download URL")
        if int(info.get("file_size") or 0) > limit:
            return omitted(media.model_copy(update={"size": int(info["file_size"])}), too_large(limit))
        data = download(ctx.http, str(info["url"]), limit=limit, headers=headers)
    except PermanentUpstreamError as exc:
        return omitted(media, f"download refused: {exc.message}")
    if len(data) > limit:  # the download stopped past the limit: nothing to check the checksum against
        return omitted(media, too_large(limit))
    expected = media.sha256 or info.get("sha256")
    if expected and hashlib.sha256(data).hexdigest() != str(expected).lower():
        raise TransientUpstreamError("WhatsApp media: checksum mismatch (incomplete download?)")
    if not media.content_type and info.get("mime_type"):
        media = media.model_copy(update={"content_type": str(info["mime_type"]).split(";")[0].strip()})
    return stored(ctx.files, data, media, limit)


async def send_reply(account: WhatsAppSettings, wa_id: str, text: str, http: AsyncOutboundClient) -> dict[str, Any]:
    """POST /{phone_number_id}/messages with a text; returns Meta's answer (`messages[0].id`)."""
    if not text.strip():
        raise PayloadError("the reply is empty")
    if len(text) > MAX_TEXT:
        raise PayloadError(f"a WhatsApp message holds at most {MAX_TEXT} characters")
    if not account.phone_number_id:
        raise ConfigError(f"messengers.whatsapp.{account.account}: phone_number_id is needed to send messages")
    url = f"{account.api_url.rstrip('/')}/{account.phone_number_id}/messages"
    payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": wa_id, "type": "text",
               "text": {"preview_url": False, "body": text}}
    return await call(http, "POST", url, graph_result, json=payload, headers=_auth(account))
