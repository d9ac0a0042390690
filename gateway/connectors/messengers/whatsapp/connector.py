"""WhatsApp Cloud API webhooks: `GET` (verification) and `POST /hooks/whatsapp/{account}`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

from gateway.config.messengers import WhatsAppSettings
from gateway.connectors.base import EdgeOutcome, InboundRequest, NewEvent, ParseContext, Reply, Route, StoredEvent
from gateway.connectors.messengers.connector import MessengerConnector, Reading
from gateway.connectors.messengers.edge import header, json_object, secrets_match
from gateway.connectors.messengers.media import PendingMedia
from gateway.connectors.messengers.whatsapp.api import fetch_media
from gateway.connectors.messengers.whatsapp.messages import DELIVERY, read_delivery
from gateway.connectors.messengers.whatsapp.parts import count, parts
from gateway.core.errors import PayloadTooLarge, SignatureError
from gateway.core.models import AttachmentRef

__all__ = ["SIGNATURE_HEADER", "WhatsAppConnector", "signature"]

SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_CHALLENGE = 256


def signature(app_secret: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256 of the raw body, keyed with the app secret."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


class WhatsAppConnector(MessengerConnector[WhatsAppSettings]):
    """Cloud API phone numbers whose app's webhook points at the gateway."""

    channel = "whatsapp"
    what = "account"

    def accounts(self) -> Sequence[WhatsAppSettings]:
        return self.settings.messengers.whatsapp

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/hooks/whatsapp/{account}", self.verify, name="whatsapp-verify"),
            Route("POST", "/hooks/whatsapp/{account}", self.receive, max_body_bytes=3 << 20, name="whatsapp"),
        ]

    async def verify(self, request: InboundRequest) -> EdgeOutcome:
        """The subscription handshake: echo hub.challenge when the verify token matches."""
        account = self.account(request.match["account"])
        challenge = request.query.get("hub.challenge") or ""
        if (request.query.get("hub.mode") != "subscribe"
                or not secrets_match(request.query.get("hub.verify_token"), account.verify_token)
                or not challenge or len(challenge) > MAX_CHALLENGE):
            raise SignatureError("verification refused")
        return EdgeOutcome(events=[], reply=Reply(status=200, body=challenge, content_type="text/plain"))

    async def receive(self, request: InboundRequest) -> EdgeOutcome:
        """Check the HMAC of the raw body; store one event per message and per status, the body once.

        A delivery with several parts stores the signed body as it came under `body:{sha256}` (name
        `delivery`), and each part with a body cut down to its own message or status: what is stored
        grows with the body, not with the body times its parts. More parts than `max_parts` is refused
        (413) with nothing stored.
        """
        account = self.account(request.match["account"])
        body = await request.read()
        given = header(request, SIGNATURE_HEADER)
        if not secrets_match(given, signature(account.app_secret, body)):
            raise SignatureError("signature does not match")
        data = json_object(body)
        if (n := count(data)) > account.max_parts:
            raise PayloadTooLarge(
                f"messages and statuses in one delivery: {n}, at most {account.max_parts} allowed "
                f"(messengers.whatsapp.max_parts); nothing was stored / "
                f"сообщений и статусов в одной доставке: {n}, допустимо не больше {account.max_parts} "
                f"(messengers.whatsapp.max_parts); ничего не сохранено")
        delivery = f"body:{hashlib.sha256(body).hexdigest()[:40]}"
        signed = {SIGNATURE_HEADER: given or ""}

        def event(owner: WhatsAppSettings, key: str, name: str, group: str | None, content: bytes) -> NewEvent:
            return NewEvent(connector=self.channel, account=owner.account, key=key, body=content,
                            received_at=request.received_at, name=name, group_key=group,
                            headers=signed if content is body else {})

        found = parts(data, body, delivery)
        events = [event(self._owner(p.value, account), p.key, p.name, p.group, p.body) for p in found]
        if not events:  # other fields, or shapes we do not know: kept, acknowledged, never refused
            events.append(event(account, delivery, _field(data), None, body))
        elif len(events) > 1:  # the signed body, once: what exactly Meta sent
            events.insert(0, event(account, delivery, DELIVERY, None, body))
        return EdgeOutcome(events=events, reply=Reply(status=200))

    def _owner(self, value: dict[str, Any], account: WhatsAppSettings) -> WhatsAppSettings:
        """The configured phone number a change is for (one app may serve several), else the URL's."""
        metadata = value.get("metadata")
        number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
        if number and number != account.phone_number_id:
            for other in self.accounts():
                if other.phone_number_id == number and other.app_secret == account.app_secret:
                    return other
        return account

    def read(self, event: StoredEvent, account: WhatsAppSettings) -> Reading:
        return read_delivery(event, account)

    def fetch(self, media: PendingMedia, account: WhatsAppSettings, ctx: ParseContext) -> AttachmentRef:
        return fetch_media(media, account, ctx)


def _field(data: dict[str, Any]) -> str:
    entries = data.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            if isinstance(change, dict) and isinstance(change.get("field"), str):
                return str(change["field"])[:64]
    return "notification"
