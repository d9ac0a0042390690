"""Importing a mailbox's history: events named "import" (contact history, never Unsorted leads).

The import takes the mailbox's lease like a poll (waiting while a poll holds it), renews
it after every stored batch, leaves the poller's cursors alone, and shows its progress.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, TextIO

import structlog

from gateway.config.email import MailboxSettings
from gateway.connectors.base import ServiceContext
from gateway.connectors.base import mailbox_state as state
from gateway.connectors.email.fetching import FetchTarget, fetch_and_store
from gateway.connectors.email.folders import choose_folders
from gateway.connectors.email.poller import LEASE_S, clock_from, default_owner
from gateway.connectors.email.progress import Progress
from gateway.connectors.email.session import ImapSession, MailConnectionLost, open_session
from gateway.core.errors import TransientUpstreamError

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["ImportReport", "import_history"]

log = structlog.get_logger(__name__)

RECONNECTS = 5


@dataclass(slots=True)
class ImportReport:
    mailbox: str
    since: date
    until: date | None
    found: dict[str, int] = field(default_factory=dict)  # folder -> messages in the range
    stored: int = 0
    stopped: bool = False


@dataclass(slots=True)
class _Import:
    mailbox: MailboxSettings
    ctx: ServiceContext
    owner: str
    clock: Callable[[], datetime]
    report: ImportReport
    stream: TextIO
    stop: threading.Event | None
    done: dict[str, int] = field(default_factory=dict)  # folder -> last UID stored
    plan: list[tuple[str, str, int, list[int]]] = field(default_factory=list)  # role, folder, uidvalidity, uids
    progress: Progress | None = None
    renewed: float = field(default_factory=time.monotonic)

    def survey(self, session: ImapSession) -> None:
        if self.plan:
            return
        for role, folder in choose_folders(session.folders(), self.mailbox.folders, self.mailbox.sent_folder):
            status = session.examine(folder)
            uids = session.uids_between(self.report.since, self.report.until)
            self.plan.append((role, folder, status.uidvalidity, uids))
            self.report.found[folder] = len(uids)
        total = sum(len(p[3]) for p in self.plan)
        self.progress = Progress(f"import {self.mailbox.name}", total, self.stream)

    def run(self, session: ImapSession) -> None:
        self.survey(session)
        assert self.progress is not None
        offset = 0
        for role, folder, uidvalidity, uids in self.plan:
            status = session.examine(folder)
            if status.uidvalidity != uidvalidity:
                raise TransientUpstreamError(f"UIDVALIDITY of {folder} changed during the import: run it again")
            last = self.done.get(folder, 0)
            todo = uids[bisect.bisect_right(uids, last):]
            target = FetchTarget(self.mailbox, folder, role, "import", uidvalidity)
            result = fetch_and_store(session, self.ctx, target, todo, clock=self.clock,
                                     on_stored=self._stored(folder, uids, offset), stop=self.stop,
                                     heartbeat=self.heartbeat)
            self.report.stored += result.fetched
            if result.stopped:
                self.report.stopped = True
                return
            offset += len(uids)

    def heartbeat(self) -> None:
        """Renew the lease when a third of it has passed (a large message can take a while)."""
        if time.monotonic() - self.renewed >= LEASE_S / 3:
            state.renew_lease(self.ctx.engine, self.mailbox.name, self.owner, now=self.clock(), lease_s=LEASE_S)
            self.renewed = time.monotonic()

    def _stored(self, folder: str, uids: list[int], offset: int) -> Callable[[int], None]:
        def on_stored(last_uid: int) -> None:
            state.renew_lease(self.ctx.engine, self.mailbox.name, self.owner, now=self.clock(), lease_s=LEASE_S)
            self.renewed = time.monotonic()
            self.done[folder] = last_uid
            assert self.progress is not None
            self.progress.advance(offset + bisect.bisect_right(uids, last_uid) - self.progress.done)
        return on_stored


def _take_lease(ctx: ServiceContext, mailbox: str, owner: str, clock: Callable[[], datetime], wait_s: float,
                sleep: Callable[[float], None]) -> None:
    state.ensure_rows(ctx.engine, mailbox, [])
    deadline = time.monotonic() + wait_s
    while not state.acquire_lease(ctx.engine, mailbox, owner, now=clock(), lease_s=LEASE_S):
        if time.monotonic() >= deadline:
            raise TransientUpstreamError(f"mailbox {mailbox} is being polled by another process: try again later")
        sleep(1.0)


def import_history(settings: Settings, mailbox: MailboxSettings, ctx: ServiceContext, *, since: date,
                   until: date | None = None, now: datetime, stream: TextIO, stop: threading.Event | None = None,
                   wait_s: float = 600.0, sleep: Callable[[float], None] = time.sleep) -> ImportReport:
    """Store the mailbox's inbox and Sent mail from `since` (to `until`) as "import" events."""
    owner, clock = default_owner(), clock_from(now)
    report = ImportReport(mailbox.name, since, until)
    _take_lease(ctx, mailbox.name, owner, clock, wait_s, sleep)
    job = _Import(mailbox, ctx, owner, clock, report, stream, stop)
    try:
        for attempt in range(RECONNECTS + 1):
            try:
                with open_session(mailbox) as session:
                    job.run(session)
                break
            except MailConnectionLost as exc:
                if attempt == RECONNECTS:
                    raise
                log.warning("mail.import_reconnect", mailbox=mailbox.name, attempt=attempt + 1, error=exc.message)
                sleep(2.0 ** attempt)
        if job.progress is not None:
            job.progress.finish()
    finally:
        state.release_lease(ctx.engine, mailbox.name, owner)
    log.info("mail.imported", mailbox=mailbox.name, stored=report.stored, found=sum(report.found.values()))
    return report
