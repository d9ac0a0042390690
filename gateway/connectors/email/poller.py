"""One poll of one mailbox: lease, connect, sync the inbox and Sent folders, record health.

A folder's first sync reaches back `first_sync_days` (SEARCH SINCE); later polls ask for
UIDs above the cursor. A changed UIDVALIDITY, or a UIDNEXT at or below the cursor (the
mailbox was emptied and recreated), resyncs by date: the event log's unique key (the
Message-ID, or a content hash) turns what was already stored into no-ops.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from gateway.config.email import MailboxSettings
from gateway.connectors.base import ServiceContext
from gateway.connectors.base import mailbox_state as state
from gateway.connectors.email.fetching import FetchTarget, fetch_and_store
from gateway.connectors.email.folders import choose_folders
from gateway.connectors.email.session import ImapSession, MailConnectionLost, open_session
from gateway.core.errors import GatewayError

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["FolderReport", "PollReport", "default_owner", "poll_once"]

log = structlog.get_logger(__name__)

LEASE_S = 300.0
RECONNECTS = 3
BACKOFF_S = 1.0
_RESYNC_MARGIN = timedelta(days=1)


@dataclass(slots=True)
class FolderReport:
    folder: str
    role: str
    uidvalidity: int | None = None
    fetched: int = 0
    last_uid: int = 0
    resynced: str | None = None  # "first sync" | "uidvalidity changed" | "mailbox reset"


@dataclass(slots=True)
class PollReport:
    mailbox: str
    started_at: datetime
    folders: list[FolderReport] = field(default_factory=list)
    locked: bool = False  # another poller holds the mailbox: nothing done
    stopped: bool = False
    reconnects: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def fetched(self) -> int:
        return sum(f.fetched for f in self.folders)


def default_owner() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"


def clock_from(now: datetime) -> Callable[[], datetime]:
    """`now` as given, advancing with the monotonic clock (leases must see time pass)."""
    start = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - start)


@dataclass(slots=True)
class _Poll:
    mailbox: MailboxSettings
    ctx: ServiceContext
    owner: str
    clock: Callable[[], datetime]
    stop: threading.Event | None
    lease_s: float
    current: str | None = None
    renewed: float = field(default_factory=time.monotonic)

    def heartbeat(self) -> None:
        """Renew the lease when a third of it has passed since the last renewal (LeaseLost if it is gone)."""
        if time.monotonic() - self.renewed >= self.lease_s / 3:
            state.renew_lease(self.ctx.engine, self.mailbox.name, self.owner, now=self.clock(), lease_s=self.lease_s)
            self.renewed = time.monotonic()

    def commit(self, folder: str, uidvalidity: int) -> Callable[[int], None]:
        def on_stored(last_uid: int) -> None:
            state.commit_cursor(self.ctx.engine, self.mailbox.name, folder, self.owner,
                                uidvalidity=uidvalidity, last_uid=last_uid, now=self.clock(), lease_s=self.lease_s)
            self.renewed = time.monotonic()
        return on_stored

    def plan(self, session: ImapSession, folder: str, report: FolderReport) -> tuple[int, list[int], int | None]:
        """(uidvalidity, UIDs to fetch, cursor to set at the end when the sync was by date)."""
        status = session.examine(folder)
        cursor = state.load_cursor(self.ctx.engine, self.mailbox.name, folder)
        report.uidvalidity = status.uidvalidity
        if cursor.uidvalidity is None:
            report.resynced = "first sync"
        elif cursor.uidvalidity != status.uidvalidity:
            report.resynced = "uidvalidity changed"
        elif status.uidnext is not None and status.uidnext <= cursor.last_uid:
            report.resynced = "mailbox reset"
        if report.resynced is None:
            report.last_uid = cursor.last_uid
            if status.uidnext is not None and status.uidnext <= cursor.last_uid + 1:
                return status.uidvalidity, [], None
            return status.uidvalidity, session.uids_after(cursor.last_uid), None
        since = self.clock() - timedelta(days=self.mailbox.first_sync_days)
        if cursor.uidvalidity is not None and cursor.last_ok_at is not None:
            since = min(since, cursor.last_ok_at - _RESYNC_MARGIN)
        uids = session.uids_since(since.date())
        end = max([*uids, (status.uidnext or 1) - 1, 0])
        log.info("mail.resync", mailbox=self.mailbox.name, folder=folder, reason=report.resynced, messages=len(uids))
        return status.uidvalidity, uids, end

    def sync(self, session: ImapSession, role: str, folder: str) -> FolderReport:
        report = FolderReport(folder, role)
        self.current = folder
        engine = self.ctx.engine
        state.ensure_rows(engine, self.mailbox.name, [folder])
        state.record_health(engine, self.mailbox.name, folder, now=self.clock(), error=None, started=True)
        uidvalidity, uids, end = self.plan(session, folder, report)
        target = FetchTarget(self.mailbox, folder, role, role, uidvalidity)
        on_stored = self.commit(folder, uidvalidity)
        done = fetch_and_store(session, self.ctx, target, uids, clock=self.clock, on_stored=on_stored, stop=self.stop,
                               heartbeat=self.heartbeat)
        report.fetched = done.fetched
        report.last_uid = max(report.last_uid, done.last_uid)
        if done.stopped:
            raise _Stopped
        if end is not None:
            on_stored(max(end, done.last_uid))  # a sync by date: messages before the window are skipped for good
            report.last_uid = max(end, done.last_uid)
        state.record_health(engine, self.mailbox.name, folder, now=self.clock(), error=None)
        return report

    def pause(self, seconds: float, sleep: Callable[[float], None] | None) -> None:
        """Wait before reconnecting; a stop request ends the wait (and the poll) at once."""
        if sleep is not None:
            sleep(seconds)
        elif self.stop is not None:
            if self.stop.wait(seconds):
                raise _Stopped
        else:
            time.sleep(seconds)

    def run(self, report: PollReport, sleep: Callable[[float], None] | None, reconnects: int) -> None:
        """Sync each folder; a dropped connection reconnects with backoff and resumes from the cursors."""
        while True:
            report.folders = []
            try:
                with open_session(self.mailbox) as session:
                    for role, folder in choose_folders(session.folders(), self.mailbox.folders,
                                                       self.mailbox.sent_folder):
                        report.folders.append(self.sync(session, role, folder))
                return
            except MailConnectionLost as exc:
                if report.reconnects >= reconnects:
                    raise
                report.reconnects += 1
                delay = BACKOFF_S * 2 ** (report.reconnects - 1)
                log.warning("mail.reconnect", mailbox=self.mailbox.name, attempt=report.reconnects, delay_s=delay,
                            error=exc.message)
                self.pause(delay, sleep)


class _Stopped(Exception):
    """The service is stopping: leave between groups, cursors committed."""


def poll_once(settings: Settings, mailbox: MailboxSettings, ctx: ServiceContext, *, now: datetime,
              owner: str | None = None, stop: threading.Event | None = None,
              sleep: Callable[[float], None] | None = None, reconnects: int = RECONNECTS,
              lease_s: float = LEASE_S) -> PollReport:
    """Poll one mailbox once, under its lease; never raises (the report and mailbox_state say what happened)."""
    owner = owner or default_owner()
    clock = clock_from(now)
    report = PollReport(mailbox.name, now)
    engine = ctx.engine
    state.ensure_rows(engine, mailbox.name, [])
    if not state.acquire_lease(engine, mailbox.name, owner, now=clock(), lease_s=lease_s):
        report.locked = True
        log.info("mail.poll_skipped", mailbox=mailbox.name, reason="locked by another poller")
        return report
    poll = _Poll(mailbox, ctx, owner, clock, stop, lease_s)
    try:
        state.record_health(engine, mailbox.name, state.MAILBOX_ROW, now=clock(), error=None, started=True)
        poll.run(report, sleep, reconnects)
        state.record_health(engine, mailbox.name, state.MAILBOX_ROW, now=clock(), error=None)
        log.info("mail.polled", mailbox=mailbox.name, fetched=report.fetched, reconnects=report.reconnects)
    except _Stopped:
        report.stopped = True
    except GatewayError as exc:
        _failed(ctx, report, exc.message, clock, poll.current)
    except Exception as exc:  # the poll's boundary: recorded for /readyz and logged with its traceback
        _failed(ctx, report, f"{type(exc).__name__}: {exc}", clock, poll.current)
        log.exception("mail.poll_crashed", mailbox=mailbox.name)
    finally:
        state.release_lease(engine, mailbox.name, owner)
    return report


def _failed(ctx: ServiceContext, report: PollReport, error: str, clock: Callable[[], datetime],
            folder: str | None) -> None:
    report.error = error
    log.warning("mail.poll_failed", mailbox=report.mailbox, error=error)
    try:
        state.record_health(ctx.engine, report.mailbox, state.MAILBOX_ROW, now=clock(), error=error)
        if folder is not None:
            state.record_health(ctx.engine, report.mailbox, folder, now=clock(), error=error)
    except Exception:  # the store itself may be what failed; the report still says it
        log.exception("mail.health_not_recorded", mailbox=report.mailbox)
