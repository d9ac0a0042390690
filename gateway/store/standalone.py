"""The store for a command that runs on its own (`gateway poll-mail`, `gateway mango reconcile`).

It is what `ServiceContext` asks for: the engine (schema brought up to date), the file store, and
`store_events`, which writes through the real event log in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.config import Settings
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.files import FileStore
from gateway.store.raw_events import NewEvent

__all__ = ["EventLogContext"]


class EventLogContext:
    """The real event log, engine and file store behind `ServiceContext`, for the command line."""

    def __init__(self, settings: Settings) -> None:
        self.engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
        bootstrap(self.engine, settings)
        self.files = FileStore(settings.files_dir)

    def store_events(self, events: Sequence[NewEvent]) -> list[str]:
        with self.engine.begin() as conn:
            return [event_id for event_id, _ in event_log.append(conn, events)]

    def close(self) -> None:
        self.engine.dispose()
