"""A real, store-backed ServiceContext for the mail tests: SQLite file, the schema, the `events` table."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.dialects.sqlite import insert

from gateway.connectors.base import NewEvent, StoredEvent
from gateway.store.db import make_engine
from gateway.store.files import FileStore
from gateway.store.schema import events, metadata

__all__ = ["ParseCtx", "StoreContext", "stored"]


class StoreContext:
    """Stores events as the event log does: one transaction per call, duplicates by key ignored."""

    def __init__(self, root: Path) -> None:
        self.engine: Engine = make_engine(f"sqlite:///{root / 'gateway.db'}")
        metadata.create_all(self.engine)
        self.files = FileStore(root / "files")
        self.calls = 0
        self.after_store: Callable[[int], None] | None = None  # runs after a committed call (crash tests)
        self.before_store: Callable[[int], None] | None = None

    def store_events(self, batch: Sequence[NewEvent]) -> list[str]:
        self.calls += 1
        if self.before_store is not None:
            self.before_store(self.calls)
        ids: list[str] = []
        with self.engine.begin() as conn:
            for ev in batch:
                event_id = uuid.uuid4().hex
                result = conn.execute(insert(events).values(
                    id=event_id, connector=ev.connector, account=ev.account, key=ev.key, name=ev.name,
                    group_key=ev.group_key, received_at=ev.received_at, headers=dict(ev.headers), body=ev.body,
                    status="pending", attempts=0, next_attempt_at=ev.not_before or ev.received_at,
                ).on_conflict_do_nothing(index_elements=["connector", "account", "key"]))
                if result.rowcount != 1:
                    event_id = conn.execute(select(events.c.id).where(
                        events.c.connector == ev.connector, events.c.account == ev.account, events.c.key == ev.key,
                    )).scalar_one()
                ids.append(event_id)
        if self.after_store is not None:
            self.after_store(self.calls)
        return ids

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(events)).scalar_one()

    def keys(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(events.c.key).order_by(events.c.key)).scalars())

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
