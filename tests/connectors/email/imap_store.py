"""A real, store-backed ServiceContext for the mail tests: the real event log on a SQLite file."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from gateway.config import Settings
from gateway.connectors.base import NewEvent, StoredEvent
from gateway.store.files import FileStore
from gateway.store.schema import events
from gateway.store.standalone import EventLogContext

__all__ = ["ParseCtx", "StoreContext", "stored"]


class StoreContext:
    """The command line's real event log (`EventLogContext`: migrations, `event_log.append` in one transaction),
    with hooks around each call for the crash tests."""

    def __init__(self, root: Path) -> None:
        self.log = EventLogContext(Settings(database_url=f"sqlite:///{root / 'gateway.db'}", files_dir=root / "files"))
        self.engine: Engine = self.log.engine
        self.files = self.log.files
        self.calls = 0
        self.after_store: Callable[[int], None] | None = None  # runs after a committed call (crash tests)
        self.before_store: Callable[[int], None] | None = None
        self.answers: list[list[str]] = []  # the event ids each call was answered with

    def store_events(self, batch: Sequence[NewEvent]) -> list[str]:
        self.calls += 1
        if self.before_store is not None:
            self.before_store(self.calls)
        ids = self.log.store_events(batch)
        self.answers.append(ids)
        if self.after_store is not None:
            self.after_store(self.calls)
        return ids

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(events)).scalar_one()

    def keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(events.c.key).order_by(events.c.key)).scalars())

    def ids_by_key(self) -> dict[str, str]:
        with self.engine.connect() as conn:
            return {k: i for k, i in conn.execute(select(events.c.key, events.c.id))}

    def events(self) -> list[StoredEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(events).order_by(events.c.received_at, events.c.id)).all()
        return [stored(r._mapping) for r in rows]


def stored(row: Mapping[str, Any]) -> StoredEvent:
    received = row["received_at"]
    return StoredEvent(
        id=row["id"], connector=row["connector"], account=row["account"], key=row["key"], name=row["name"],
        group_key=row["group_key"], received_at=received if received.tzinfo else received.replace(tzinfo=UTC),
        headers=row["headers"] or {}, body=bytes(row["body"]), attempts=row["attempts"],
    )


@dataclass
class ParseCtx:
    """What `process` gets from the worker: a clock, the file store, related events."""

    files: FileStore
    now: datetime = field(default_factory=lambda: datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
    http: Any = None

    def related(self, connector: str, account: str, group_key: str,
                names: Sequence[str] | None = None) -> Sequence[StoredEvent]:
        return []
