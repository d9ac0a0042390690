"""Typed keys of the resources that live in the aiohttp application, and who hears that leads changed."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.connectors.base import Connector
    from gateway.delivery.runner import OutboxRunner
    from gateway.dispatch.embedded import Dispatcher
    from gateway.egress import AsyncOutboundClient
    from gateway.http.fast_lane import FastLane
    from gateway.http.writer import EventWriter
    from gateway.metrics import Metrics
    from gateway.store.database import Database
    from gateway.store.files import FileStore
    from gateway.store.passwords import Hashing

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
DB: web.AppKey[Database] = web.AppKey("db")
WRITER: web.AppKey[EventWriter] = web.AppKey("writer")
FILES: web.AppKey[FileStore] = web.AppKey("files")
CONNECTORS: web.AppKey[dict[str, Connector]] = web.AppKey("connectors")
DISPATCHER: web.AppKey[Dispatcher] = web.AppKey("dispatcher")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
HTTP: web.AppKey[AsyncOutboundClient] = web.AppKey("http")
EXTRAS: web.AppKey[dict[str, Any]] = web.AppKey("extras")
OUTBOX: web.AppKey[OutboxRunner] = web.AppKey("outbox")
HASHING: web.AppKey[Hashing] = web.AppKey("hashing")
LANE: web.AppKey[FastLane] = web.AppKey("lane")
# Called on the event loop when leads changed (the live page's poller reads the store at once).
LEADS_CHANGED: web.AppKey[list[Callable[[], None]]] = web.AppKey("leads_changed")


def leads_changed(app: web.Application) -> None:
    """Tell this process's listeners that leads changed (from a request that changed them)."""
    for listener in app.get(LEADS_CHANGED, ()):
        listener()
