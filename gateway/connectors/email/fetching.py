"""Fetching messages in batches and storing them as events, in UID order.

Sizes are fetched first; small bodies go in groups of up to `batch_mb`, a large message is
fetched alone in 1 MiB partial reads, and one over `max_message_mb` is stored as its header
only (marked truncated). After each group is committed to the event log, `on_stored(last_uid)`
runs: the poller moves its cursor there, the importer renews its lease.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from gateway.config.email import MailboxSettings
from gateway.connectors.base import NewEvent
from gateway.connectors.email.keys import event_key
from gateway.connectors.email.session import ImapSession, MessageMeta

__all__ = ["FetchTarget", "Fetched", "fetch_and_store"]

log = structlog.get_logger(__name__)

_MB = 1 << 20
LARGE = 2 * _MB  # fetched alone, in partial reads


@dataclass(frozen=True, slots=True)
class FetchTarget:
    mailbox: MailboxSettings
    folder: str
    role: str  # inbox | sent
    event_name: str  # inbox | sent | import
    uidvalidity: int


@dataclass(slots=True)
class Fetched:
    fetched: int = 0
    bytes: int = 0
    last_uid: int = 0
    stopped: bool = False


def _event(target: FetchTarget, uid: int, raw: bytes, meta: MessageMeta, now: datetime, *,
           truncated: bool = False) -> NewEvent:
    headers = {
        "folder": target.folder, "role": target.role, "uid": str(uid), "uidvalidity": str(target.uidvalidity),
        "size": str(meta.size),
    }
    if meta.internaldate is not None:
        headers["internaldate"] = meta.internaldate.isoformat()
    if truncated:
        headers["truncated"] = "1"
    return NewEvent(connector="imap", account=target.mailbox.name, key=event_key(raw), body=raw, received_at=now,
                    name=target.event_name, headers=headers)


class _Batcher:
    """Collects events of consecutive UIDs and flushes them into the event log."""

    def __init__(self, session: ImapSession, ctx: Any, target: FetchTarget, clock: Callable[[], datetime],
                 on_stored: Callable[[int], None], counts: Fetched, heartbeat: Callable[[], None] | None) -> None:
        self.session, self.ctx, self.target, self.clock = session, ctx, target, clock
        self.on_stored, self.counts, self.heartbeat = on_stored, counts, heartbeat
        self.small: list[tuple[int, MessageMeta]] = []
        self.small_bytes = 0
        self.limit = int(target.mailbox.batch_mb * _MB)
        self.max_message = int(target.mailbox.max_message_mb * _MB)

    def add(self, uid: int, meta: MessageMeta) -> None:
        if meta.size > LARGE:
            self.flush()
            self._alone(uid, meta)
            return
        self.small.append((uid, meta))
        self.small_bytes += meta.size
        if self.small_bytes >= self.limit:
            self.flush()

    def _alone(self, uid: int, meta: MessageMeta) -> None:
        truncated = meta.size > self.max_message
        raw = self.session.header(uid) if truncated else self.session.body_in_parts(uid, heartbeat=self.heartbeat)
        events = [] if raw is None else [_event(self.target, uid, raw, meta, self.clock(), truncated=truncated)]
        del raw
        self._store(events, uid)

    def flush(self) -> None:
        if not self.small:
            return
        batch, self.small, self.small_bytes = self.small, [], 0
        bodies = self.session.bodies([uid for uid, _ in batch])
        now = self.clock()
        events = [_event(self.target, uid, bodies[uid], meta, now) for uid, meta in batch if uid in bodies]
        del bodies
        self._store(events, batch[-1][0])

    def _store(self, events: list[NewEvent], last_uid: int) -> None:
        if events:
            self.ctx.store_events(events)
        self.counts.fetched += len(events)
        self.counts.bytes += sum(len(e.body) for e in events)
        self.counts.last_uid = last_uid
        self.on_stored(last_uid)


def fetch_and_store(session: ImapSession, ctx: Any, target: FetchTarget, uids: Sequence[int], *,
                    clock: Callable[[], datetime], on_stored: Callable[[int], None],
                    stop: threading.Event | None = None, heartbeat: Callable[[], None] | None = None) -> Fetched:
    """Fetch `uids` (ascending) and store them; stops early, between groups, when `stop` is set.

    `heartbeat` runs between the partial reads of a large message (the lease must outlive it).
    """
    counts = Fetched()
    batcher = _Batcher(session, ctx, target, clock, on_stored, counts, heartbeat)
    size = target.mailbox.batch_size
    for start in range(0, len(uids), size):
        if stop is not None and stop.is_set():
            counts.stopped = True
            break
        chunk = list(uids[start:start + size])
        metas = session.metas(chunk)
        for uid in chunk:
            if uid in metas:  # a UID missing here was expunged meanwhile
                batcher.add(uid, metas[uid])
        batcher.flush()
        if counts.last_uid < chunk[-1]:
            counts.last_uid = chunk[-1]
            on_stored(chunk[-1])
    log.debug("mail.fetched", mailbox=target.mailbox.name, folder=target.folder, messages=counts.fetched,
              bytes=counts.bytes)
    return counts
