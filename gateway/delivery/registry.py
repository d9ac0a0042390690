"""The performers of outbound jobs, built from the settings: adding a kind of job is one entry here."""

from __future__ import annotations

from gateway.config import Settings
from gateway.core.jobs import Performer
from gateway.delivery.triggers import TriggerPerformer
from gateway.delivery.webhooks import WebhookPerformer, settings_secrets
from gateway.egress import AsyncOutboundClient
from gateway.store.database import Database

__all__ = ["build_performers"]


def build_performers(settings: Settings, client: AsyncOutboundClient, db: Database) -> dict[str, Performer]:
    performers: list[Performer] = [WebhookPerformer(client, settings_secrets(settings)),
                                   TriggerPerformer(settings, db, client)]
    return {p.kind: p for p in performers}
