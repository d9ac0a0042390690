"""The performers of outbound jobs, built from the settings: adding a kind of job is one entry here."""

from __future__ import annotations

from gateway.config import Settings
from gateway.connectors.base import NewEvent
from gateway.connectors.email.sending import MailReplyPerformer
from gateway.connectors.telephony.mango.callback import CallbackPerformer
from gateway.core.jobs import Performer
from gateway.delivery.triggers import TriggerPerformer
from gateway.delivery.webhooks import WebhookPerformer, settings_secrets
from gateway.egress import AsyncOutboundClient
from gateway.sinks.registry import build_sink_performers
from gateway.store import event_log
from gateway.store.database import Database

__all__ = ["build_performers"]


def build_performers(settings: Settings, client: AsyncOutboundClient, db: Database) -> dict[str, Performer]:
    performers: list[Performer] = [WebhookPerformer(client, settings_secrets(settings)),
                                   TriggerPerformer(settings, db, client)]
    performers += build_sink_performers(settings, client, db)
    if settings.telephony.mango:
        performers.append(CallbackPerformer({m.account: m for m in settings.telephony.mango}, client))
    if any(m.smtp_host for m in settings.email.mailboxes):
        async def record(event: NewEvent) -> None:
            await db.write(event_log.append, [event])

        performers.append(MailReplyPerformer({m.name: m for m in settings.email.mailboxes}, record))
    return {p.kind: p for p in performers}
