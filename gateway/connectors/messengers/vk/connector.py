"""VK Callback API: `POST /hooks/vk/{group}`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from gateway.config.messengers import VkSettings
from gateway.connectors.base import EdgeOutcome, InboundRequest, NewEvent, ParseContext, Reply, Route, StoredEvent
from gateway.connectors.messengers.connector import MessengerConnector, Reading
from gateway.connectors.messengers.edge import header, json_object, secrets_match
from gateway.connectors.messengers.media import PendingMedia
from gateway.connectors.messengers.vk.api import fetch_attachment, user_name
from gateway.connectors.messengers.vk.messages import read_callback
from gateway.core.errors import PayloadError, SignatureError
from gateway.core.models import AttachmentRef

__all__ = ["VkConnector"]

# VK puts the community's secret in the body: it is looked for in the raw bytes, before the body is parsed.
_SECRET = re.compile(rb'"secret"\s*:\s*"((?:[^"\\]|\\.){0,1024})"')
MAX_SECRET_CANDIDATES = 8
MAX_CONFIRMATION_BYTES = 1024  # a confirmation request is `{"type": "confirmation", "group_id": ...}`


def secret_given(body: bytes, expected: str) -> bool:
    """Whether a `"secret": "..."` in the raw body is the group's secret (constant time per candidate)."""
    for n, found in enumerate(_SECRET.finditer(body)):
        if n >= MAX_SECRET_CANDIDATES:
            break
        try:
            value = json.loads(b'"' + found.group(1) + b'"')
        except ValueError:
            continue
        if secrets_match(value, expected):
            return True
    return False


def _peer(obj: Any) -> str | None:
    """The conversation an event belongs to: the message's peer, or the user it concerns."""
    if not isinstance(obj, dict):
        return None
    message = obj.get("message")
    inner = message if isinstance(message, dict) else obj
    for key in ("peer_id", "user_id", "from_id"):
        value = inner.get(key, obj.get(key))
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return None


class VkConnector(MessengerConnector[VkSettings]):
    """Communities whose Callback API server points at the gateway."""

    channel = "vk"
    what = "group"

    def accounts(self) -> Sequence[VkSettings]:
        return self.settings.messengers.vk

    def routes(self) -> list[Route]:
        return [Route("POST", "/hooks/vk/{group}", self.receive, max_body_bytes=1 << 20, name="vk")]

    async def receive(self, request: InboundRequest) -> EdgeOutcome:
        """Answer the confirmation; otherwise check the secret, store under event_id and answer `ok`.

        The secret is checked before the body is parsed: without it only a small confirmation is read.
        """
        group = self.account(request.match["group"])
        body = await request.read()
        if not secret_given(body, group.secret):
            return self._confirmation(body, group)
        data = json_object(body)
        kind = data.get("type")
        if not isinstance(kind, str) or not kind:
            raise PayloadError("type is missing")
        if group.group_id is not None and data.get("group_id") != group.group_id:
            raise SignatureError("group_id does not match")
        if kind == "confirmation":
            return EdgeOutcome(events=[], reply=Reply(status=200, body=group.confirmation, content_type="text/plain"))
        secret = data.pop("secret", None)
        if not isinstance(secret, str) or not secrets_match(secret, group.secret):
            raise SignatureError("secret does not match")
        event_id = data.get("event_id")
        if not isinstance(event_id, str) or not event_id:
            raise PayloadError("event_id is missing")
        retry = header(request, "X-Retry-Counter")
        # The secret is not kept in the event log: the body is stored without it.
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        event = NewEvent(connector=self.channel, account=group.group, key=event_id, body=body,
                         received_at=request.received_at, name=kind, group_key=_peer(data.get("object")),
                         headers={"X-Retry-Counter": retry} if retry else {})
        return EdgeOutcome(events=[event], reply=Reply(status=200, body=b"ok", content_type="text/plain"))

    @staticmethod
    def _confirmation(body: bytes, group: VkSettings) -> EdgeOutcome:
        """A request without the secret: the server confirmation (answered with the code), or refused."""
        if len(body) > MAX_CONFIRMATION_BYTES:
            raise SignatureError("secret does not match")
        try:
            data = json_object(body)
        except PayloadError:
            raise SignatureError("secret does not match") from None
        if data.get("type") != "confirmation":
            raise SignatureError("secret does not match")
        if group.group_id is not None and data.get("group_id") != group.group_id:
            raise SignatureError("group_id does not match")
        return EdgeOutcome(events=[], reply=Reply(status=200, body=group.confirmation, content_type="text/plain"))

    def read(self, event: StoredEvent, account: VkSettings) -> Reading:
        return read_callback(event, account)

    def fetch(self, media: PendingMedia, account: VkSettings, ctx: ParseContext) -> AttachmentRef:
        return fetch_attachment(media, account, ctx)

    def wants_profile(self, account: VkSettings) -> bool:
        return account.fetch_profiles and bool(account.access_token)

    def profile_name(self, person_id: str, account: VkSettings, ctx: ParseContext) -> str | None:
        return user_name(account, person_id, ctx)
