"""The poller service: one loop per mailbox, each poll run in a thread (`asyncio.to_thread`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from gateway.config.email import MailboxSettings
from gateway.connectors.base import ServiceContext
from gateway.connectors.email.poller import default_owner, poll_once

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["next_delay", "run_pollers"]

log = structlog.get_logger(__name__)

MAX_BACKOFF_S = 900.0


def next_delay(poll_seconds: float, failures: int) -> float:
    """The wait before the next poll: `poll_seconds`, doubled per failure in a row, at most 15 minutes."""
    if failures <= 0:
        return poll_seconds
    return min(MAX_BACKOFF_S, max(poll_seconds, poll_seconds * 2.0 ** failures))


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _wait(stop_event: asyncio.Event, seconds: float) -> None:
    try:
        async with asyncio.timeout(seconds):  # not wait_for: on 3.11 it may swallow a cancel
            await stop_event.wait()
    except TimeoutError:
        pass


async def _mailbox_loop(settings: Settings, mailbox: MailboxSettings, ctx: ServiceContext, stop_event: asyncio.Event,
                        stop: threading.Event, owner: str, clock: Callable[[], datetime]) -> None:
    failures = 0
    while not stop_event.is_set():
        try:
            report = await asyncio.to_thread(poll_once, settings, mailbox, ctx, now=clock(), owner=owner, stop=stop)
            failures = failures + 1 if report.error else 0
        except Exception:  # the service's boundary: a poll must never end the loop
            failures += 1
            log.exception("mail.poller_crashed", mailbox=mailbox.name)
        await _wait(stop_event, next_delay(mailbox.poll_seconds, failures))


async def run_pollers(settings: Settings, ctx: ServiceContext, stop_event: asyncio.Event, *,
                      clock: Callable[[], datetime] = _utcnow) -> None:
    """Poll every configured mailbox until `stop_event` is set; a poll in progress stops between batches."""
    mailboxes = settings.email.mailboxes
    if not mailboxes:
        return
    stop = threading.Event()
    owner = default_owner()

    async def relay() -> None:
        await stop_event.wait()
        stop.set()

    relay_task = asyncio.create_task(relay())
    log.info("mail.pollers_started", mailboxes=[m.name for m in mailboxes])
    try:
        await asyncio.gather(*(
            _mailbox_loop(settings, m, ctx, stop_event, stop, owner, clock) for m in mailboxes
        ))
    finally:
        relay_task.cancel()
        log.info("mail.pollers_stopped")
