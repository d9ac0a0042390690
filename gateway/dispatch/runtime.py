"""What every process builds from its settings: the engine, the connectors, the file store, the processor."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from gateway.config import Settings
from gateway.connectors.base import Connector
from gateway.connectors.registry import build_connectors
from gateway.dispatch.processor import Processor
from gateway.egress import OutboundClient
from gateway.store.db import make_engine
from gateway.store.files import FileStore

__all__ = ["Runtime", "build_runtime"]


@dataclass(slots=True)
class Runtime:
    settings: Settings
    engine: Engine
    connectors: dict[str, Connector]
    files: FileStore
    http: OutboundClient
    processor: Processor

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


def build_runtime(settings: Settings, *, engine: Engine | None = None) -> Runtime:
    engine = engine or make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    connectors = build_connectors(settings)
    files = FileStore(settings.files_dir)
    http = OutboundClient(settings.http.outbound_policy())
    from gateway.calltracking.matching import interaction_hook
    from gateway.dispatch.lead_hooks import hooks_quiet, lead_hooks

    tracking = [interaction_hook(settings.calltracking)] if settings.calltracking.sites else []
    processor = Processor(settings, engine, connectors, files, http, lead_hooks=lead_hooks(settings),
                          interaction_hooks=tracking, hooks_quiet=hooks_quiet(settings))
    return Runtime(settings, engine, connectors, files, http, processor)
