"""Live updates by server-sent events: one poller per process watches the store for changed leads.

The store is the only thing shared by every process (HTTP, rq workers, the mail poller), so the
poller reads `leads.updated_at` (one query, for all the page's listeners in this process). It reads
when nudged, that is when this process hears that leads changed (the worker process's pipe, a Redis
message from `gateway worker`, an operator's decision here), and at least every `interval` seconds
in case a nudge was lost. A burst of nudges makes one read, and reads start at least `spacing`
apart. A read re-reads a window behind its mark (a transaction may commit a little after the time
it stamped) and sends each change once: `lookback` at least once every `interval`, and only
`recent` on the reads between (under a steady stream of changes the whole window is a thousand
rows, too many to read twenty times a second). Under a burst of more than `batch` changes inside
that window only the newest are sent; the page then resyncs on its next load.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import Connection, func, select

from gateway.http.keys import DB, EXTRAS
from gateway.store.database import Database
from gateway.store.schema import leads

__all__ = ["LiveHub", "changed_leads", "live_stream", "newest_change"]

log = structlog.get_logger(__name__)
HUB = "live_hub"


def newest_change(conn: Connection) -> datetime | None:
    """The store's newest lead change (read once, when the poller starts)."""
    return conn.execute(select(func.max(leads.c.updated_at))).scalar()


def changed_leads(conn: Connection, since: datetime, batch: int) -> list[dict[str, Any]]:
    """Leads updated at or after `since`, newest first (at most `batch`)."""
    rows = conn.execute(
        select(leads.c.id, leads.c.status, leads.c.channel, leads.c.kind, leads.c.updated_at)
        .where(leads.c.updated_at >= since).order_by(leads.c.updated_at.desc()).limit(batch)
    ).mappings().all()
    return [dict(r) for r in rows]


class LiveHub:
    """Reads when nudged and polls while anyone listens; fans each batch of changes out to the listeners' queues."""

    def __init__(self, *, interval: float = 2.0, spacing: float = 0.05, lookback: timedelta = timedelta(seconds=30),
                 recent: timedelta = timedelta(seconds=2), batch: int = 1000) -> None:
        self.interval, self.spacing, self.batch = interval, spacing, batch
        self.lookback, self.recent = lookback, recent
        self._nudged = asyncio.Event()
        self._queues: set[asyncio.Queue[list[dict[str, Any]] | None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._sent: dict[int, tuple[str, str]] = {}
        self._mark: datetime | None = None
        self.closed = False

    def subscribe(self, db: Database) -> asyncio.Queue[list[dict[str, Any]] | None]:
        queue: asyncio.Queue[list[dict[str, Any]] | None] = asyncio.Queue(maxsize=200)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(db), name="live-hub")
        return queue

    def nudge(self) -> None:
        """Leads changed: read now, not at the next poll (call on the event loop; a burst makes one read)."""
        self._nudged.set()

    def unsubscribe(self, queue: asyncio.Queue[list[dict[str, Any]] | None]) -> None:
        self._queues.discard(queue)

    async def close(self) -> None:
        self.closed = True
        for queue in list(self._queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self, db: Database) -> None:
        loop = asyncio.get_running_loop()
        whole_at = -math.inf  # when the whole window was last read
        while self._queues and not self.closed:
            started = loop.time()
            self._nudged.clear()  # a nudge from now on may be about a commit this read misses: read again
            whole = started - whole_at >= self.interval
            try:
                await self._read(db, whole)
                whole_at = started if whole else whole_at
            except Exception:  # a process boundary: keep the page's live view going through store hiccups
                log.exception("live.poll_failed")
            await self._pause(started)
        self._task = None

    async def _read(self, db: Database, whole: bool) -> None:
        if self._mark is None:
            self._mark = await db.read(newest_change)
        if self._mark is not None:
            rows = await db.read(changed_leads, self._mark - (self.lookback if whole else self.recent), self.batch)
            if rows:
                self._mark = max(rows[0]["updated_at"], self._mark)
            if changes := self._fresh(list(reversed(rows)), whole):
                self._broadcast(changes)

    async def _pause(self, started: float) -> None:
        """Until a nudge or the poll interval; then keep reads `spacing` apart."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.interval):  # not wait_for: on 3.11 it may swallow a cancel
                await self._nudged.wait()
        rest = started + self.spacing - asyncio.get_running_loop().time()
        if rest > 0:
            await asyncio.sleep(rest)

    def _fresh(self, rows: list[dict[str, Any]], whole: bool) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            stamp = r["updated_at"].isoformat()
            sig = (stamp, r["status"])
            if self._sent.get(r["id"]) != sig:
                self._sent[r["id"]] = sig
                out.append({"id": r["id"], "status": r["status"], "channel": r["channel"], "kind": r["kind"],
                            "updated_at": stamp})
        if whole and len(self._sent) > 4 * self.batch:  # forget what fell out of the window
            keep = {r["id"] for r in rows}
            self._sent = {k: v for k, v in self._sent.items() if k in keep}
        return out

    def _broadcast(self, changes: list[dict[str, Any]]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(changes)
            except asyncio.QueueFull:  # a stalled listener: tell it to reload instead of growing
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait([{"resync": True}])


def _since(request: web.Request) -> datetime:
    """Changes at or after the page was drawn (`?since=` ISO time), else the last few seconds."""
    try:
        since = datetime.fromisoformat(request.query["since"])
    except (KeyError, ValueError):
        return datetime.now(UTC) - timedelta(seconds=5)
    return since if since.tzinfo else since.replace(tzinfo=UTC)  # a time without an offset is UTC


def hub_of(app: web.Application) -> LiveHub:
    hub: LiveHub = app[EXTRAS][HUB]
    return hub


async def live_stream(request: web.Request) -> web.StreamResponse:
    """`text/event-stream`: an event `leads` with the changed leads' ids and statuses; a ping every 15 s."""
    hub = hub_of(request.app)
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                       "X-Accel-Buffering": "no"})
    await resp.prepare(request)
    since = _since(request)
    queue = hub.subscribe(request.app[DB])
    try:
        await resp.write(b"retry: 2000\n\n")
        while not hub.closed:
            try:
                changes = await asyncio.wait_for(queue.get(), timeout=15)
            except TimeoutError:
                await resp.write(b": ping\n\n")
                continue
            if changes is None:
                break
            kind = "resync" if changes and changes[0].get("resync") else "leads"
            if kind == "leads":
                changes = [c for c in changes if datetime.fromisoformat(c["updated_at"]) >= since]
            if not changes:
                continue
            await resp.write(f"event: {kind}\ndata: {json.dumps(changes)}\n\n".encode())
            if kind == "resync":
                break
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        hub.unsubscribe(queue)
    return resp
