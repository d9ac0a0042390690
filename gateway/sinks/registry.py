"""The sinks of the settings: each configured amoCRM account and Bitrix24 portal, by name."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gateway.egress import AsyncOutboundClient
from gateway.sinks.amocrm.client import AmoCrmSink
from gateway.sinks.base import Sink
from gateway.sinks.bitrix24.client import Bitrix24Sink
from gateway.sinks.links import Links
from gateway.sinks.performer import SinkPerformer
from gateway.sinks.reading import SinkStore
from gateway.sinks.tokens import StoredTokens
from gateway.store.database import Database

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["build_sink_performers", "build_sinks"]


def build_sinks(settings: Settings, http: AsyncOutboundClient, db: Database) -> dict[str, Sink]:
    sinks: dict[str, Sink] = {}
    for amo in settings.sinks.amocrm:
        sinks[amo.name] = AmoCrmSink(amo, http, StoredTokens(db, amo.name), region=settings.default_region)
    for b24 in settings.sinks.bitrix24:
        sinks[b24.name] = Bitrix24Sink(b24, http)
    return sinks


def build_sink_performers(settings: Settings, http: AsyncOutboundClient, db: Database) -> list[SinkPerformer]:
    s = settings.sinks
    store = SinkStore(db, Links(s.public_url, s.link_secret, s.link_days))
    return [SinkPerformer(sink, store) for sink in build_sinks(settings, http, db).values()]
