"""The performers of outbound jobs, built from the settings: adding a kind of job is one entry here."""

from __future__ import annotations

from gateway.config import Settings
from gateway.core.jobs import Performer
from gateway.delivery.webhooks import WebhookPerformer, settings_secrets
from gateway.egress import AsyncOutboundClient

__all__ = ["build_performers"]


def build_performers(settings: Settings, client: AsyncOutboundClient) -> dict[str, Performer]:
    performers: list[Performer] = [WebhookPerformer(client, settings_secrets(settings))]
    return {p.kind: p for p in performers}
